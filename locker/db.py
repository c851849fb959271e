"""Engine, sessions and the unit of work.

Every service call is one :func:`transaction`: it commits all of its changes, including the
audit event and the outbox rows, or none. Write transactions are serialised:

* SQLite: WAL, foreign keys and a busy timeout on every connection, and every transaction
  begins with ``BEGIN IMMEDIATE``, so "find a free compartment, then take it" cannot
  interleave with another thread or process (pysqlite's own transaction handling is off).
* Other databases (PostgreSQL): the transaction first locks the audit chain's head row
  (``SELECT … FOR UPDATE``); every write appends to that chain, so writers queue there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, create_engine, select

from locker.models import AuditHead

log = logging.getLogger(__name__)
_AFTER_COMMIT = "locker.after_commit"


def make_engine(url: str, *, busy_timeout_ms: int = 10_000) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted and overwritten content is zeroed on its page, not left in free space:
        # erased personal data must not stay readable in the file (docs/security.md).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def flush_to_main_file(engine: Engine) -> bool:
    """Copy the WAL into the database file and empty it (SQLite; elsewhere nothing to do).

    After erasing personal data: until a checkpoint the old page images, with the erased
    values, are still in the ``-wal`` file. ``TRUNCATE`` writes every frame back (where
    ``secure_delete`` has zeroed them) and cuts the WAL to zero bytes. Returns whether it
    completed; a reader in the middle of a transaction can hold it back, and the next
    housekeeping run tries again.
    """
    if not is_sqlite(engine):
        return True
    raw = engine.raw_connection()  # outside any transaction (ours always begin IMMEDIATE)
    try:
        busy, _log, _done = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    return not busy


def integrity_problem(engine: Engine) -> str | None:
    """``None`` when the database answers and its structure is sound; else what is wrong.

    SQLite: ``PRAGMA quick_check`` (every page and index entry's form, not the slower
    cross-check of ``integrity_check``); elsewhere a plain query.
    """
    try:
        with engine.connect() as connection:
            if not is_sqlite(engine):
                connection.exec_driver_sql("SELECT 1").one()
                return None
            rows = [r[0] for r in connection.exec_driver_sql("PRAGMA quick_check").fetchall()]
    except Exception as err:  # a health check says what is wrong rather than failing itself
        return f"{type(err).__name__}: {err}"
    return None if rows == ["ok"] else "; ".join(str(r) for r in rows[:3])


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if not is_sqlite(engine):
            session.exec(select(AuditHead).where(col(AuditHead.id) == 1).with_for_update())
        yield session


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session for reads only (it still begins a transaction, so reads are consistent)."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Call ``callback`` once the session's transaction has committed; never if it rolls back.

    For telling a port that committed rows wait for it (:meth:`locker.ports.Outbox.wake`):
    the same callback given twice in one transaction is called once. It runs on the committing
    thread after the commit, so it must be quick; an exception is logged, not raised (the
    transaction has committed, its caller must not think it failed).
    """
    callbacks: list[Callable[[], None]] = session.info.setdefault(_AFTER_COMMIT, [])
    if not callbacks:
        event.listen(session, "after_commit", _run_after_commit, once=True)
    if callback not in callbacks:
        callbacks.append(callback)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)
