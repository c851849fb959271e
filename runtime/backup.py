"""``locker backup`` and ``locker restore``: a consistent copy of the database, and back again.

A backup is taken while the controller runs, through SQLite's online backup API
(:meth:`sqlite3.Connection.backup` in one step): it reads one snapshot under a read
transaction, which in WAL mode never blocks the controller's writers, and the copy is checked
(``PRAGMA integrity_check``) before it gets its final name. A copy is one self-contained file
(journal mode ``DELETE``), mode 0600 since it holds personal data, and never holds the secret
key: that lives only in ``/etc/locker/locker.toml``, so a stolen backup alone cannot forge
codes, and restoring needs the box's own config (keep the config's secret somewhere safe too;
docs/operations.md). The newest ``backup.keep`` copies are kept.

A restore refuses while a controller runs on the data directory (:mod:`runtime.instance`),
refuses a copy that fails the integrity check, whose audit chain is broken or whose schema is
newer than this code, and then replaces the database in one rename, keeping the one it replaces
beside it. An older schema is migrated at once.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from locker import audit, migrate
from locker.config import Settings
from locker.db import make_engine, reading
from locker.errors import DomainError
from runtime import instance

PREFIX = "locker-"
SUFFIX = ".db"


class BackupError(DomainError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def database_file(settings: Settings) -> Path:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(
            "locker backup copies the SQLite database; for PostgreSQL use pg_dump"
            " (docs/operations.md)"
        )
    return Path(url.database)


def backup_dir(settings: Settings) -> Path:
    return settings.backup.dir or settings.locker.data_dir / "backups"


def backups(directory: Path) -> list[Path]:
    """The copies in ``directory``, oldest first (their names sort by time)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


@dataclass(frozen=True)
class Check:
    """What a copy holds: whether it is intact, its audit events and schema revision."""

    integrity: str
    events: int
    chain_broken_at: int | None
    chain_reason: str
    revision: str | None

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and self.chain_broken_at is None


def take(settings: Settings, to: Path | None = None, keep: int | None = None) -> Path:
    """Copy the live database into ``to`` (default ``backup.dir``); prune to the newest ``keep``."""
    source = database_file(settings)
    if not source.exists():
        raise BackupError(f"there is no database at {source} yet (run: locker db upgrade)")
    directory = to or backup_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = directory / f"{PREFIX}{settings.locker.bank_id}-{stamp}{SUFFIX}"
    partial = final.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    live = sqlite3.connect(source, timeout=settings.database.busy_timeout_ms / 1000)
    try:
        copy = sqlite3.connect(partial)
        try:
            live.backup(copy)  # one step: one consistent snapshot, writers go on meanwhile
            copy.execute("PRAGMA journal_mode=DELETE")
            result = copy.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy.close()
    finally:
        live.close()
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check ({result}); nothing was kept")
    os.chmod(partial, 0o600)
    os.replace(partial, final)
    for old in backups(directory)[: -(keep or settings.backup.keep)]:
        old.unlink()
    return final


def inspect(path: Path) -> Check:
    """Integrity, audit chain and schema revision of a database file (opened read-only)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as raw:
            integrity = str(raw.execute("PRAGMA integrity_check").fetchone()[0])
    except sqlite3.DatabaseError as err:
        return Check(f"not a database: {err}", 0, 0, "unreadable", None)
    if integrity != "ok":
        return Check(integrity, 0, 0, "not checked", None)
    engine = make_engine(f"sqlite:///{path}")
    try:
        revision = migrate.current_revision(engine)
        with reading(engine) as session:
            report = audit.verify_chain(session)
    except Exception as err:  # a file that is SQLite but not ours
        return Check("ok", 0, 0, f"not a locker database ({type(err).__name__})", None)
    finally:
        engine.dispose()
    return Check("ok", report.checked, report.broken_at, report.reason, revision)


def restore(settings: Settings, path: Path) -> tuple[Path, Check]:
    """Replace the database by the copy at ``path``; returns where the old one was kept."""
    target = database_file(settings)
    holder = instance.holder(settings.locker.data_dir)
    if holder is not None:
        raise BackupError(
            f"the controller is running (process {holder}); stop it first:"
            " systemctl stop locker, then restore, then systemctl start locker"
        )
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    staged = target.with_name(target.name + ".restoring")
    for leftover in _with_sidecars(staged):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(path, staged)
    check = inspect(staged)
    problem = _refusal(check)
    if problem:
        staged.unlink(missing_ok=True)
        raise BackupError(f"{path} was not restored: {problem}; the database is unchanged")
    if check.revision != migrate.head_revision():
        engine = make_engine(f"sqlite:///{staged}")
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
    kept = target.with_name(f"{target.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
    if target.exists():
        _checkpoint(target)
        os.replace(target, kept)
    for sidecar in _with_sidecars(target)[1:]:
        sidecar.unlink(missing_ok=True)
    _checkpoint(staged)
    owner = settings.locker.data_dir.stat()
    if os.geteuid() == 0:  # root restores for the service user who owns the data directory
        os.chown(staged, owner.st_uid, owner.st_gid)
    os.chmod(staged, 0o600)
    os.replace(staged, target)
    return kept, check


def _refusal(check: Check) -> str:
    if check.integrity != "ok":
        return f"it fails the integrity check ({check.integrity})"
    if check.chain_broken_at is not None:
        return f"its audit chain is broken at event {check.chain_broken_at} ({check.chain_reason})"
    if check.revision is not None and check.revision not in migrate.revisions():
        return f"its schema ({check.revision}) is newer than this version of locker"
    return ""


def _with_sidecars(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the file, so the file alone is the whole database."""
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for sidecar in _with_sidecars(path)[1:]:
        if sidecar.exists() and sidecar.stat().st_size == 0:
            sidecar.unlink()
