"""Staff accounts (argon2 password hashes, lockout) and back-office API keys (keyed hashes).

Least privilege: every account and key carries explicit roles; nothing has a role by default.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, select

from locker import audit, codes
from locker.core import Core
from locker.db import transaction
from locker.errors import AuthenticationFailed, Conflict, InvalidInput, RateLimited
from locker.models import ApiKey, StaffUser
from locker.vocabulary import Role

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A real hash of a random password, verified when the user does not exist, so that a
    wrong user name takes as long as a wrong password (made on first use, not at import)."""
    return _hasher.hash(secrets.token_urlsafe(16))


MIN_PASSWORD = 10
KEY_PREFIX = "lk_"


@dataclass(frozen=True)
class Principal:
    """Who is asking, and with which roles."""

    name: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        return role in self.roles


def parse_roles(names: list[str] | tuple[str, ...]) -> frozenset[Role]:
    roles = set()
    for name in names:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise InvalidInput(
                "role", f"unknown role {name!r}; roles are {allowed}", "role_unknown"
            ) from None
    if not roles:
        raise InvalidInput("role", "give at least one role", "role_missing")
    return frozenset(roles)


def _joined(roles: frozenset[Role]) -> str:
    return ",".join(sorted(r.value for r in roles))


def _split(text: str) -> frozenset[Role]:
    return frozenset(Role(r) for r in text.split(",") if r)


def add_user(
    core: Core, username: str, password: str, roles: frozenset[Role], *, actor: str
) -> None:
    """Create a staff account; short passwords only in demo mode (its ``demo``/``demo``)."""
    username = username.strip()
    if not username or len(username) > 64:
        raise InvalidInput("username", "a user name has 1 to 64 characters", "length")
    check_password(core, password)
    now = core.clock.now()
    with transaction(core.engine) as session:
        if session.exec(select(StaffUser).where(col(StaffUser.username) == username)).first():
            raise Conflict(f"A user named {username!r} exists already.")
        session.add(
            StaffUser(
                username=username,
                password_hash=_hasher.hash(password),
                roles=_joined(roles),
                created_at=now,
            )
        )
        audit.record(session, at=now, kind="user_added", actor=actor, roles=_joined(roles))


def check_password(core: Core, password: str) -> None:
    """The one password policy, for new accounts and new passwords alike."""
    if len(password) < MIN_PASSWORD and not core.settings.locker.demo:
        raise InvalidInput(
            "password",
            f"a password has at least {MIN_PASSWORD} characters",
            "password_too_short",
            min=MIN_PASSWORD,
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def sign_in(core: Core, username: str, password: str) -> Principal:
    """Check a password; lock the account for a while after repeated failures."""
    now = core.clock.now()
    security = core.settings.security
    with transaction(core.engine) as session:
        user = session.exec(
            select(StaffUser).where(col(StaffUser.username) == username)
        ).one_or_none()
        if user is not None and user.locked_until and user.locked_until > now:
            wait = int((user.locked_until - now).total_seconds()) + 1
            return _raise(RateLimited("Too many failed sign-ins; try again later.", wait))
        try:
            _hasher.verify(user.password_hash if user else _dummy_hash(), password)
            ok = user is not None and not user.disabled
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None:
            if user is not None:
                user.failed_logins += 1
                if user.failed_logins >= security.staff_max_failures:
                    user.locked_until = now + timedelta(seconds=security.staff_lockout_s)
                    user.failed_logins = 0
                session.add(user)
            audit.record(session, at=now, kind="sign_in_failed", actor="anonymous")
        else:
            user.failed_logins = 0
            user.locked_until = None
            user.last_signed_in_at = now
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            session.add(user)
            audit.record(session, at=now, kind="signed_in", actor=f"user:{user.username}")
            return user_principal(user)
    raise AuthenticationFailed("User name or password is not right.")


def user_principal(user: StaffUser) -> Principal:
    """The principal of a staff account, with the roles it has now."""
    return Principal(f"user:{user.username}", _split(user.roles))


def _raise(error: Exception) -> Principal:
    raise error


def create_api_key(
    core: Core, name: str, roles: frozenset[Role], *, actor: str, key: str | None = None
) -> str:
    """Make a key, store only its keyed hash, and return it (shown once).

    A chosen ``key`` is accepted only in demo mode (the demo's well-known ``demo-key``).
    """
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidInput("name", "a key name has 1 to 64 characters", "length")
    if key is not None and not core.settings.locker.demo:
        raise InvalidInput("key", "API keys are made by the controller outside demo mode")
    key = key or KEY_PREFIX + secrets.token_urlsafe(32)
    now = core.clock.now()
    with transaction(core.engine) as session:
        if session.exec(select(ApiKey).where(col(ApiKey.name) == name)).first():
            raise Conflict(f"An API key named {name!r} exists already.")
        session.add(
            ApiKey(
                name=name,
                key_hash=codes.code_hash(core.api_key_key, key),
                roles=_joined(roles),
                created_at=now,
            )
        )
        audit.record(
            session,
            at=now,
            kind="api_key_created",
            actor=actor,
            key_name=name,
            roles=_joined(roles),
        )
    return key


def authenticate_key(core: Core, key: str) -> Principal:
    digest = codes.code_hash(core.api_key_key, key.strip())
    with transaction(core.engine) as session:
        row = session.exec(select(ApiKey).where(col(ApiKey.key_hash) == digest)).one_or_none()
        if row is None or row.revoked_at is not None or not codes.same_hash(row.key_hash, digest):
            raise AuthenticationFailed("This API key is not valid.")
        row.last_used_at = core.clock.now()
        session.add(row)
        return Principal(f"key:{row.name}", _split(row.roles))
