"""Staff sessions kept on the server: revocable, with an idle and an absolute lifetime.

The browser holds only a random token (the cookie); the database holds its SHA-256 with the
user name, the sign-in time, the last activity and the absolute end. A session is valid while

* its row exists (signing out deletes it; :func:`end_all_for` deletes every session of an
  account, which disabling it or setting a new password must call),
* the last activity is less than ``security.session_idle_minutes`` ago,
* ``security.session_max_hours`` since sign-in have not passed, however active, and
* the account exists and is not disabled; the roles are read from it on every request, so
  a change of roles applies at once.

Activity is written at most every :data:`TOUCH_EVERY` (a page polling every second costs one
write in 30 s, not 30), so the idle end is exact to within that.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, delete, select

from locker.core import Core
from locker.db import reading, transaction
from locker.models import StaffSession, StaffUser
from locker.services.accounts import Principal, user_principal

TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class ActiveSession:
    principal: Principal
    sid: str
    """The token's digest: the session's id on the server, and what its CSRF token signs."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(core: Core, principal: Principal) -> str:
    """A new session for ``principal`` (a staff account); return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = core.clock.now()
    security = core.settings.security
    with transaction(core.engine) as session:
        session.add(
            StaffSession(
                id=digest(token),
                username=principal.name.removeprefix("user:"),
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=security.session_max_hours),
            )
        )
    return token


def resume(core: Core, token: str) -> ActiveSession | None:
    """The session of ``token`` if it is still valid (and mark the activity); else ``None``."""
    if not token or len(token) > 128:
        return None
    sid = digest(token)
    now = core.clock.now()
    idle = timedelta(minutes=core.settings.security.session_idle_minutes)
    with reading(core.engine) as session:
        row = session.get(StaffSession, sid)
        if row is None:
            return None
        assert row.last_seen_at is not None and row.expires_at is not None
        user = session.exec(
            select(StaffUser).where(col(StaffUser.username) == row.username)
        ).one_or_none()
        alive = row.expires_at > now and now - row.last_seen_at < idle
        if not alive or user is None or user.disabled:
            stale = True
        else:
            stale = False
            principal = user_principal(user)
            due = now - row.last_seen_at >= TOUCH_EVERY
    if stale:
        end(core, token)
        return None
    if due:
        with transaction(core.engine) as session:
            found = session.get(StaffSession, sid)
            if found is None:  # signed out meanwhile
                return None
            found.last_seen_at = now
            session.add(found)
    return ActiveSession(principal, sid)


def end(core: Core, token: str) -> None:
    """Sign out: the token opens nothing from now on."""
    with transaction(core.engine) as session:
        session.exec(delete(StaffSession).where(col(StaffSession.id) == digest(token)))


def end_all_for(core: Core, username: str) -> int:
    """End every session of the account ``username`` (``user:`` prefix allowed); how many.

    For disabling an account and for a new password: whoever was signed in is out at once.
    """
    name = username.removeprefix("user:")
    with transaction(core.engine) as session:
        result = session.exec(delete(StaffSession).where(col(StaffSession.username) == name))
        return int(result.rowcount or 0)


def prune(core: Core) -> int:
    """Delete sessions past their absolute end or idle too long (housekeeping)."""
    now = core.clock.now()
    idle = timedelta(minutes=core.settings.security.session_idle_minutes)
    with transaction(core.engine) as session:
        result = session.exec(
            delete(StaffSession).where(
                (col(StaffSession.expires_at) <= now)
                | (col(StaffSession.last_seen_at) <= now - idle)
            )
        )
        return int(result.rowcount or 0)
