"""Who is asking: API keys (``Authorization: Bearer``) or a staff session cookie, with roles.

Least privilege: every route names the roles it needs, and a key may do exactly what its roles
allow, as a signed-in account may (shared/API.md: "api key, clerk" means a key or a session
with the clerk role; a technician-only key announces nothing and reads no audit log). A
state-changing request that rides on the session cookie must carry the CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from kiosk.sessions import COOKIE, StaffSessions
from locker.core import Core
from locker.errors import AuthenticationFailed, PermissionDenied
from locker.services import accounts
from locker.services.accounts import Principal
from locker.vocabulary import Role
from runtime.controller import Controller

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def controller(request: Request) -> Controller:
    found = request.app.state.controller
    assert isinstance(found, Controller)
    return found


def core(request: Request) -> Core:
    return controller(request).running


def signer(request: Request) -> StaffSessions:
    found = request.app.state.signer
    assert isinstance(found, StaffSessions)
    return found


CoreDep = Annotated[Core, Depends(core)]


def identify(request: Request) -> tuple[Principal, bool] | None:
    """The caller and whether it came with an API key; ``None`` when anonymous."""
    header = request.headers.get("authorization", "")
    the_core = core(request)
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthenticationFailed("Send the API key as: Authorization: Bearer <key>.")
        return accounts.authenticate_key(the_core, key), True
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    session = getattr(request.state, "session", None) or signer(request).read(the_core, cookie)
    if session is None:
        return None
    if request.method not in SAFE_METHODS:
        token = request.headers.get("x-csrf-token")
        if not signer(request).csrf_ok(session.sid, token):
            raise PermissionDenied("This request lacks its CSRF token; reload the page.")
    request.state.session = session
    return session.principal, False


def need(*roles: Role) -> Callable[[Request], Principal]:
    """A dependency admitting callers, by key or session alike, with one of ``roles``."""

    def check(request: Request) -> Principal:
        found = identify(request)
        if found is None:
            raise AuthenticationFailed("Sign in, or send an API key.")
        principal, _by_key = found
        if principal.roles & set(roles):
            return principal
        wanted = " or ".join(sorted(r.value for r in roles))
        raise PermissionDenied(f"This needs the role {wanted}.")

    return check
