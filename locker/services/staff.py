"""Managing staff accounts and API keys once they exist: list, disable, delete, new password,
revoke. (Creating them is :mod:`locker.services.accounts`.)

Everything an admin does here is audited and takes effect at once: a disabled or deleted
account's sessions end on the server (:func:`locker.services.sessions.end_all_for`), and so do
they after a new password; a revoked key is refused at its next request. An admin cannot lock
the house: the last enabled admin account can be neither disabled nor deleted, and nobody
disables or deletes their own account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from locker import audit
from locker.core import Core
from locker.db import reading, transaction
from locker.errors import Conflict, IllegalTransition, NotFound
from locker.models import ApiKey, StaffSession, StaffUser
from locker.services import sessions
from locker.services.accounts import check_password, hash_password
from locker.vocabulary import Role

TEMPORARY_PASSWORD_BYTES = 12


@dataclass(frozen=True)
class StaffView:
    username: str
    roles: list[Role]
    disabled: bool
    created_at: datetime | None
    last_signed_in_at: datetime | None
    locked_until: datetime | None
    sessions: int
    """Sessions open now (signed in on that many screens)."""


@dataclass(frozen=True)
class KeyView:
    name: str
    roles: list[Role]
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def _roles(text: str) -> list[Role]:
    return sorted(Role(r) for r in text.split(",") if r)


def list_staff(core: Core) -> list[StaffView]:
    with reading(core.engine) as session:
        open_sessions = dict(
            session.exec(
                select(StaffSession.username, func.count()).group_by(col(StaffSession.username))
            ).all()
        )
        return [
            StaffView(
                username=u.username,
                roles=_roles(u.roles),
                disabled=u.disabled,
                created_at=u.created_at,
                last_signed_in_at=u.last_signed_in_at,
                locked_until=u.locked_until,
                sessions=int(open_sessions.get(u.username, 0)),
            )
            for u in session.exec(select(StaffUser).order_by(col(StaffUser.username)))
        ]


def list_keys(core: Core) -> list[KeyView]:
    """Every key with its roles and when it was last used (never a secret: none is kept)."""
    with reading(core.engine) as session:
        return [
            KeyView(k.name, _roles(k.roles), k.created_at, k.last_used_at, k.revoked_at)
            for k in session.exec(select(ApiKey).order_by(col(ApiKey.name)))
        ]


def _user(session: Session, username: str) -> StaffUser:
    user = session.exec(
        select(StaffUser).where(col(StaffUser.username) == username.removeprefix("user:"))
    ).one_or_none()
    if user is None:
        raise NotFound(f"There is no staff account {username!r}.")
    return user


def _keep_an_admin(session: Session, user: StaffUser, actor: str) -> None:
    if actor == f"user:{user.username}":
        raise IllegalTransition("You cannot disable or delete your own account.")
    if Role.ADMIN not in _roles(user.roles) or user.disabled:
        return
    others = [
        u
        for u in session.exec(select(StaffUser).where(col(StaffUser.disabled) == False))
        if u.id != user.id and Role.ADMIN in _roles(u.roles)
    ]
    if not others:
        raise IllegalTransition(
            f"{user.username} is the last enabled admin account; make another admin first."
        )


def set_disabled(core: Core, username: str, disabled: bool, *, actor: str) -> StaffView:
    """Disable (every session ends at once) or enable an account."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        user = _user(session, username)
        if disabled:
            _keep_an_admin(session, user, actor)
        if user.disabled != disabled:
            user.disabled = disabled
            session.add(user)
            kind = "user_disabled" if disabled else "user_enabled"
            audit.record(session, at=now, kind=kind, actor=actor, account=user.username)
        name = user.username
    if disabled:
        sessions.end_all_for(core, name)
    return next(v for v in list_staff(core) if v.username == name)


def delete_user(core: Core, username: str, *, actor: str) -> None:
    """Delete an account (its sessions with it); the audit log keeps its name as actor."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        user = _user(session, username)
        _keep_an_admin(session, user, actor)
        name = user.username
        session.exec(delete(StaffSession).where(col(StaffSession.username) == name))
        session.delete(user)
        audit.record(session, at=now, kind="user_deleted", actor=actor, account=name)


def reset_password(core: Core, username: str, *, actor: str, password: str | None = None) -> str:
    """Give an account a new password (a random one unless given) and return it; the account's
    sessions end and a lockout after failed sign-ins is lifted."""
    new = password if password is not None else secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)
    check_password(core, new, username)
    now = core.clock.now()
    with transaction(core.engine) as session:
        user = _user(session, username)
        user.password_hash = hash_password(new)
        user.failed_logins = 0
        user.locked_until = None
        session.add(user)
        name = user.username
        audit.record(session, at=now, kind="password_reset", actor=actor, account=name)
    sessions.end_all_for(core, name)
    return new


def revoke_key(core: Core, name: str, *, actor: str) -> KeyView:
    """Revoke an API key: refused from its next request on. Revoking twice is refused."""
    now = core.clock.now()
    with transaction(core.engine) as session:
        key = session.exec(select(ApiKey).where(col(ApiKey.name) == name)).one_or_none()
        if key is None:
            raise NotFound(f"There is no API key {name!r}.")
        if key.revoked_at is not None:
            raise Conflict(f"The API key {name!r} is revoked already.")
        key.revoked_at = now
        session.add(key)
        audit.record(session, at=now, kind="api_key_revoked", actor=actor, key_name=name)
        return KeyView(key.name, _roles(key.roles), key.created_at, key.last_used_at, now)
