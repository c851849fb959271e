"""The centre's own API keys and control-room sessions.

A key is ``fk_`` + 32 random bytes, shown once and stored only as its SHA-256 (a key has far
more entropy than a password, so a fast hash is enough). Roles as on a box: ``clerk`` announces
and cancels through the centre, ``technician`` opens a compartment remotely, ``admin`` reads;
every valid key reads the fleet. The control room is signed into with a key: the session is a
random token whose hash is stored, valid for ``SESSION_HOURS``; revoking the key ends it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from fleet.centre import tables

ROLES = frozenset({"clerk", "technician", "admin"})
DEMO_KEY = "demo-key"
SESSION_HOURS = 12


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    roles: frozenset[str]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    engine: Engine, name: str, roles: set[str], now: datetime, *, secret: str = ""
) -> str:
    unknown = set(roles) - ROLES
    if unknown or not roles:
        raise ValueError(f"roles are {', '.join(sorted(ROLES))}; got {sorted(roles)}")
    key = secret or "fk_" + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(
            insert(tables.api_key).values(
                name=name, key_hash=_hash(key), roles=",".join(sorted(roles)), created_at=now
            )
        )
    return key


def seed_demo_key(engine: Engine, now: datetime) -> None:
    with engine.begin() as connection:
        found = connection.execute(
            select(tables.api_key.c.id).where(tables.api_key.c.key_hash == _hash(DEMO_KEY))
        ).first()
    if found is None:
        create_key(engine, "demo", set(ROLES), now, secret=DEMO_KEY)


def authenticate(engine: Engine, key: str) -> Caller | None:
    digest = _hash(key)
    with engine.connect() as connection:
        row = (
            connection.execute(
                select(tables.api_key).where(
                    tables.api_key.c.key_hash == digest, tables.api_key.c.revoked_at.is_(None)
                )
            )
            .mappings()
            .first()
        )
    if row is None or not hmac.compare_digest(row["key_hash"], digest):
        return None
    return Caller(row["name"], frozenset(row["roles"].split(",")))


def revoke(engine: Engine, name: str, now: datetime) -> bool:
    with engine.begin() as connection:
        done = connection.execute(
            update(tables.api_key)
            .where(tables.api_key.c.name == name, tables.api_key.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        connection.execute(
            delete(tables.page_session).where(tables.page_session.c.key_name == name)
        )
    return bool(done.rowcount)


def open_session(engine: Engine, caller: Caller, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(
            delete(tables.page_session).where(tables.page_session.c.expires_at < now)
        )
        connection.execute(
            insert(tables.page_session).values(
                token_hash=_hash(token),
                key_name=caller.name,
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
    return token


def session_caller(engine: Engine, token: str, now: datetime) -> Caller | None:
    session, key = tables.page_session, tables.api_key
    with engine.connect() as connection:
        row = connection.execute(
            select(key.c.name, key.c.roles)
            .join(session, session.c.key_name == key.c.name)
            .where(
                session.c.token_hash == _hash(token),
                session.c.expires_at > now,
                key.c.revoked_at.is_(None),
            )
        ).first()
    return Caller(row[0], frozenset(row[1].split(","))) if row else None


def close_session(engine: Engine, token: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            delete(tables.page_session).where(tables.page_session.c.token_hash == _hash(token))
        )
