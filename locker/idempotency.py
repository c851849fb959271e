"""``Idempotency-Key``: a retried POST is answered once, never carried out twice.

A back office that lost the answer to ``POST /api/v1/deliveries`` (or an import, a cancel)
sends the same request again with the same key and gets the first answer back instead of a
second announcement. Records are keyed by (caller, key): two callers never see each other's.

* :func:`begin` (one transaction, serialised like every write): a new key is recorded with
  the request's fingerprint (a hash of method, path, query and body) before the request runs.
  The same key again gives the stored answer if the fingerprint matches and the first request
  has finished, :class:`RequestInProgress` (409) while it still runs, and
  :class:`IdempotencyKeyReused` (422) if the request differs.
* :func:`finish` stores the answer; :func:`abandon` forgets the key when the request failed
  on our side (5xx, crash), so that retrying it with the same key works.
* :func:`prune` deletes records older than ``api.idempotency_retention_hours``; a key that old
  counts as new again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from locker.core import Core
from locker.db import transaction
from locker.errors import IdempotencyKeyReused, RequestInProgress
from locker.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: bytes
    content_type: str | None


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode()):
        digest.update(part + b"\0")
    digest.update(body)
    return digest.hexdigest()


def begin(core: Core, caller: str, key: str, print_: str) -> StoredAnswer | None:
    """Record the key, or return the answer already given to it (see the module doc)."""
    now = core.clock.now()
    oldest = now - _retention(core)
    with transaction(core.engine) as session:
        row = _find(session, caller, key)
        if row is not None and row.created_at is not None and row.created_at < oldest:
            session.delete(row)
            session.flush()
            row = None
        if row is None:
            session.add(
                IdempotencyRecord(caller=caller, key=key, fingerprint=print_, created_at=now)
            )
            return None
        if row.fingerprint != print_:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for a different request; use a new key for a"
                " new request."
            )
        if row.status_code is None or row.response_body is None:
            raise RequestInProgress(
                "The first request with this Idempotency-Key is still running; ask again soon."
            )
        return StoredAnswer(row.status_code, row.response_body, row.response_type)


def finish(core: Core, caller: str, key: str, answer: StoredAnswer) -> None:
    with transaction(core.engine) as session:
        row = _find(session, caller, key)
        if row is not None:
            row.status_code = answer.status_code
            row.response_body = answer.body
            row.response_type = answer.content_type
            session.add(row)


def abandon(core: Core, caller: str, key: str) -> None:
    with transaction(core.engine) as session:
        row = _find(session, caller, key)
        if row is not None:
            session.delete(row)


def prune(core: Core) -> int:
    cutoff = core.clock.now() - _retention(core)
    with transaction(core.engine) as session:
        result = session.exec(
            delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff)
        )
        return int(result.rowcount or 0)


def _retention(core: Core) -> timedelta:
    return timedelta(hours=core.settings.api.idempotency_retention_hours)


def _find(session: Session, caller: str, key: str) -> IdempotencyRecord | None:
    return session.exec(
        select(IdempotencyRecord).where(
            col(IdempotencyRecord.caller) == caller, col(IdempotencyRecord.key) == key
        )
    ).first()
