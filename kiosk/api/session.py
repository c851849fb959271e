"""Staff sign-in and sign-out for the clerk screens (a session cookie, see kiosk.sessions)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from kiosk.api.deps import CoreDep, identify, signer
from kiosk.schemas import ErrorOut, SignIn
from kiosk.sessions import COOKIE
from locker.errors import AuthenticationFailed
from locker.services import accounts

router = APIRouter(prefix="/api/v1/session", tags=["staff"])


def set_cookie(request: Request, response: Response, value: str) -> None:
    core = request.app.state.controller.running
    response.set_cookie(
        COOKIE,
        value,
        httponly=True,
        samesite="strict",
        secure=core.settings.kiosk.secure_cookies or core.settings.kiosk.tls,
        path="/",
    )


@router.post("", responses={401: {"model": ErrorOut}, 429: {"model": ErrorOut}})
def sign_in(body: SignIn, request: Request, response: Response, core: CoreDep) -> dict[str, object]:
    """Sign in; the answer carries the CSRF token to send with every change."""
    principal = accounts.sign_in(core, body.username, body.password)
    the_signer = signer(request)
    cookie, session = the_signer.start(core, principal)
    set_cookie(request, response, cookie)
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
