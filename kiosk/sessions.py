"""Staff sessions for the clerk screens: a random token in a cookie, the session on the server.

The cookie (``HttpOnly``, ``SameSite=Strict``, ``Secure`` when ``kiosk.secure_cookies``)
holds only the token that :mod:`locker.services.sessions` knows by its hash; signing out,
the idle time-out, the absolute lifetime and disabling the account all end the session on
the server, so a copied cookie is worth nothing afterwards. The CSRF token is an HMAC of the
session id: a page embeds it, and every state-changing request made with the cookie must send
it back (header ``X-CSRF-Token``).
"""

from __future__ import annotations

import hashlib
import hmac

from locker.core import Core
from locker.services import sessions
from locker.services.accounts import Principal
from locker.services.sessions import ActiveSession

COOKIE = "locker_session"
Session = ActiveSession


class StaffSessions:
    """Cookie tokens to sessions and CSRF tokens, under a key derived from the secret."""

    def __init__(self, csrf_key: bytes) -> None:
        self.key = csrf_key

    def start(self, core: Core, principal: Principal) -> tuple[str, ActiveSession]:
        token = sessions.start(core, principal)
        return token, ActiveSession(principal, sessions.digest(token))

    def read(self, core: Core, cookie: str) -> ActiveSession | None:
        return sessions.resume(core, cookie)

    def end(self, core: Core, cookie: str) -> None:
        sessions.end(core, cookie)

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self.key, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()[:40]

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf_token(sid), token)
