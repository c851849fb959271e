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
import secrets

from locker.core import Core
from locker.services import sessions
from locker.services.accounts import Principal
from locker.services.sessions import ActiveSession

COOKIE = "locker_session"
DEVICE_COOKIE = "locker_device"
DEVICE_COOKIE_DAYS = 365
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

    def device_cookie(self, username: str) -> str:
        """A browser's proof that it signed in to ``username`` (OWASP's device cookie): a
        random id and an HMAC binding it to the account."""
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._device_mac(nonce, username)}"

    def device_of(self, cookie: str | None, username: str) -> str | None:
        """The device id if ``cookie`` proves an earlier sign-in to ``username``."""
        if not cookie or len(cookie) > 200:
            return None
        nonce, _, mac = cookie.partition(".")
        if not nonce or not hmac.compare_digest(mac, self._device_mac(nonce, username)):
            return None
        return nonce

    def _device_mac(self, nonce: str, username: str) -> str:
        message = b"device:" + nonce.encode() + b"\x00" + username.encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:40]

    def csrf_token(self, sid: str) -> str:
        return hmac.new(self.key, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()[:40]

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf_token(sid), token)
