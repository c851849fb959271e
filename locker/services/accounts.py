"""Staff accounts (argon2 password hashes, lockout) and back-office API keys (keyed hashes).

Least privilege: every account and key carries explicit roles; nothing has a role by default.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, select

from locker import audit, codes, passwords, throttle
from locker.core import Core
from locker.db import reading, transaction
from locker.errors import AuthenticationFailed, Conflict, InvalidInput, RateLimited
from locker.models import ApiKey, StaffUser
from locker.text import printable
from locker.vocabulary import Role

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A real hash of a random password, verified when the user does not exist, so that a
    wrong user name takes as long as a wrong password (made on first use, not at import)."""
    return _hasher.hash(secrets.token_urlsafe(16))


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
    core: Core,
    username: str,
    password: str,
    roles: frozenset[Role],
    *,
    actor: str,
    demo_seed: bool = False,
) -> None:
    """Create a staff account under the password policy (:mod:`locker.passwords`).

    ``demo_seed`` lets the demo's own ``demo``/``demo`` through, in demo mode only; every other
    account, in the demo too, gets a real password.
    """
    username = passwords.check_username(username)
    if not (demo_seed and core.settings.locker.demo):
        check_password(core, password, username)
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


def check_password(core: Core, password: str, username: str = "") -> None:
    """The one password policy (:mod:`locker.passwords`), for new accounts and new passwords
    alike; the user name and the installation's names count as easy guesses."""
    passwords.check_password(
        password, known=(username, core.settings.locker.name, core.settings.locker.bank_id)
    )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def sign_in(
    core: Core, username: str, password: str, *, client: str = "", device: str | None = None
) -> Principal:
    """Check a password under the sign-in limits, which no stranger can turn into a lockout.

    * ``client`` (the caller's address) may fail ``security.staff_client_failures_per_hour``
      times an hour, whatever user names it tries;
    * an account may fail ``security.staff_max_failures`` times an hour from browsers that
      have not signed in to it before; a right password does not refill that budget, so
      "four wrong, one right" gains nothing;
    * a browser that has signed in to the account before (``device``: the id of its device
      cookie, checked by the caller) is exempt from both and has a back-off of its own
      (``staff_max_failures`` in a row, then a wait doubling up to ``staff_lockout_s``).

    So a stranger exhausts only their own address and the budget of unknown browsers; the
    clerk's own browser still signs in (OWASP's "device cookies"). The argon2 check runs
    outside any write transaction, and a refused attempt is refused before it.
    """
    now = core.clock.now()
    keys = _sign_in_keys(username, client, device)
    with reading(core.engine) as session:
        wait = max(throttle.seconds_locked(session, key, now) for key in keys)
        user = session.exec(
            select(StaffUser).where(col(StaffUser.username) == username)
        ).one_or_none()
    if wait:
        raise RateLimited("Too many failed sign-ins; try again later.", wait)
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
        ok = user is not None and not user.disabled
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        _count_failure(core, keys, known_user=user is not None, device=device)
        raise AuthenticationFailed("User name or password is not right.")
    with transaction(core.engine) as session:
        if device is not None:
            throttle.succeed(session, keys[0])
        found = session.get(StaffUser, user.id)
        assert found is not None
        found.last_signed_in_at = now
        session.add(found)
        if _hasher.check_needs_rehash(found.password_hash):
            found.password_hash = _hasher.hash(password)
            session.add(found)
        audit.record(session, at=now, kind="signed_in", actor=f"user:{user.username}")
        return user_principal(found)


def _count_failure(core: Core, keys: list[str], *, known_user: bool, device: str | None) -> None:
    now = core.clock.now()
    security = core.settings.security
    with transaction(core.engine) as session:
        if device is not None:
            rule = throttle.Backoff(
                security.staff_max_failures, 60, max(60, security.staff_lockout_s)
            )
            throttle.fail(session, keys[0], rule, now)
        else:
            throttle.spend(session, keys[0], security.staff_client_failures_per_hour, now)
            if known_user:
                throttle.spend(session, keys[1], security.staff_max_failures, now)
        audit.record(session, at=now, kind="sign_in_failed", actor="anonymous")


def _sign_in_keys(username: str, client: str, device: str | None) -> list[str]:
    """The throttle rows that decide this attempt: the device's alone when it is known, else
    the client's and the account's (only if the name is an account's: no rows for made-up
    names)."""
    if device is not None:
        return [f"sign-in:device:{device}"]
    return [f"sign-in:client:{client}", f"sign-in:account:{username[:64]}"]


def user_principal(user: StaffUser) -> Principal:
    """The principal of a staff account, with the roles it has now."""
    return Principal(f"user:{user.username}", _split(user.roles))


def create_api_key(
    core: Core, name: str, roles: frozenset[Role], *, actor: str, key: str | None = None
) -> str:
    """Make a key, store only its keyed hash, and return it (shown once).

    A chosen ``key`` is accepted only in demo mode (the demo's well-known ``demo-key``).
    """
    name = printable("name", name)
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
