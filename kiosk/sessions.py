"""Staff sessions in a signed cookie, with idle time-out and a CSRF token.

The cookie holds the user name, roles, a random session id and the time of the last
request, signed with HMAC-SHA256 under a key derived from the installation secret. Every
request re-issues it with a fresh time, so a session ends after ``security.session_idle_minutes``
of inactivity. The CSRF token is an HMAC of the session id: a page embeds it, and every
state-changing request made with the cookie must send it back (header ``X-CSRF-Token`` or
form field ``csrf_token``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from locker.services.accounts import Principal
from locker.vocabulary import Role

COOKIE = "locker_session"


@dataclass(frozen=True)
class Session:
    principal: Principal
    sid: str
    last_seen: float


class SessionSigner:
    def __init__(self, key: bytes, idle_minutes: int) -> None:
        self.key = key
        self.idle_s = idle_minutes * 60

    def _sign(self, body: bytes) -> str:
        return hmac.new(self.key, body, hashlib.sha256).hexdigest()

    def issue(self, principal: Principal, now: datetime, sid: str | None = None) -> str:
        payload = {
            "u": principal.name,
            "r": sorted(principal.roles),
            "s": sid or secrets.token_hex(16),
            "t": now.timestamp(),
        }
        body = base64.urlsafe_b64encode(json.dumps(payload).encode())
        return f"{body.decode()}.{self._sign(body)}"

    def read(self, cookie: str, now: datetime) -> Session | None:
        body, _, signature = cookie.partition(".")
        if not signature or not hmac.compare_digest(signature, self._sign(body.encode())):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body.encode()))
            principal = Principal(str(payload["u"]), frozenset(Role(r) for r in payload["r"]))
            last_seen = float(payload["t"])
            sid = str(payload["s"])
        except (ValueError, KeyError, TypeError):
            return None
        if now.timestamp() - last_seen > self.idle_s:
            return None
        return Session(principal, sid, last_seen)

    def csrf_token(self, sid: str) -> str:
        return self._sign(b"csrf:" + sid.encode())[:40]

    def csrf_ok(self, sid: str, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf_token(sid), token)
