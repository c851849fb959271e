"""Staff sign-in and sign-out for the clerk screens (a session cookie, see kiosk.sessions)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from kiosk.api.deps import CoreDep, identify, signer
from kiosk.kiosks import client_address
from kiosk.schemas import ErrorOut, SignIn
from kiosk.sessions import COOKIE, DEVICE_COOKIE, DEVICE_COOKIE_DAYS
from locker.errors import AuthenticationFailed
from locker.services import accounts

router = APIRouter(prefix="/api/v1/session", tags=["staff"])


def set_cookie(
    request: Request, response: Response, value: str, *, name: str = COOKIE, days: int = 0
) -> None:
    core = request.app.state.controller.running
    response.set_cookie(
        name,
        value,
        max_age=days * 86_400 if days else None,
        httponly=True,
        samesite="strict",
        secure=core.settings.kiosk.secure_cookies or core.settings.kiosk.tls,
        path="/",
    )


@router.post("", responses={401: {"model": ErrorOut}, 429: {"model": ErrorOut}})
def sign_in(body: SignIn, request: Request, response: Response, core: CoreDep) -> dict[str, object]:
    """Sign in; the answer carries the CSRF token to send with every change.

    Limited per address and per account (locker.services.accounts.sign_in); a browser that
    signed in to this account before shows its device cookie and is not held up by strangers.
    """
    the_signer = signer(request)
    device = the_signer.device_of(request.cookies.get(DEVICE_COOKIE), body.username)
    principal = accounts.sign_in(
        core, body.username, body.password, client=client_address(request), device=device
    )
    cookie, session = the_signer.start(core, principal)
    set_cookie(request, response, cookie)
    if device is None:
        known = the_signer.device_cookie(body.username)
        set_cookie(request, response, known, name=DEVICE_COOKIE, days=DEVICE_COOKIE_DAYS)
    return {
        "user": principal.name,
        "roles": sorted(principal.roles),
        "csrf_token": the_signer.csrf_token(session.sid),
    }


@router.get("", responses={401: {"model": ErrorOut}})
def who_am_i(request: Request) -> dict[str, object]:
    found = identify(request)
    if found is None:
        raise AuthenticationFailed("Not signed in.")
    principal, _ = found
    session = getattr(request.state, "session", None)
    token = signer(request).csrf_token(session.sid) if session else None
    return {"user": principal.name, "roles": sorted(principal.roles), "csrf_token": token}


@router.delete("", status_code=204)
def sign_out(request: Request, response: Response, core: CoreDep) -> Response:
    """Sign out: the session ends on the server, so the cookie opens nothing any more."""
    cookie = request.cookies.get(COOKIE)
    if cookie:
        signer(request).end(core, cookie)
    response.delete_cookie(COOKIE, path="/")
    response.status_code = 204
    return response
