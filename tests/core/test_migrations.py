"""The migrations create exactly the schema the models describe, and upgrading is idempotent."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from alembic.autogenerate import compare_metadata
from alembic.command import downgrade, upgrade
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from locker import migrate
from locker.db import make_engine


def test_migrations_match_models(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


def test_upgrade_is_idempotent(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    first = migrate.upgrade(engine)
    assert migrate.upgrade(engine) == first == migrate.head_revision()
    assert migrate.is_current(engine)


def test_sqlite_connection_settings(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_the_revisions_read_from_the_files_are_alembics(tmp_path):
    """``is_current`` (asked at every start) reads the files itself, without alembic."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert migrate.revisions() == {s.revision: s.down_revision for s in scripts.walk_revisions()}
    assert migrate.head_revision() == scripts.get_current_head()
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert migrate.current_revision(engine) is None
    assert not migrate.is_current(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == scripts.get_current_head()
    previous = migrate.revisions()[migrate.head_revision()]
    config = migrate.alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        downgrade(config, "-1")
        connection.commit()
    assert migrate.current_revision(engine) == previous
    assert not migrate.is_current(engine)


def test_codes_stored_at_the_upgrade_to_twelve_characters_are_flagged_legacy(tmp_path):
    """Migration 0006: every code stored before it was issued with ten characters; it is
    flagged so that its old form still opens its delivery. Codes issued afterwards are not."""
    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    config = migrate.alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        upgrade(config, "0005")
        connection.commit()

    def store(delivery_id: str) -> None:  # plain sqlite3: no foreign keys, no delivery row
        with closing(sqlite3.connect(path)) as raw, raw:
            raw.execute(
                "INSERT INTO pickup_code (delivery_id, code_hash, created_at, expires_at)"
                " VALUES (?, ?, '2026-12-01 10:00:00', '2026-12-15 10:00:00')",
                (delivery_id, f"h-{delivery_id}"),
            )

    store("d-old")
    migrate.upgrade(engine)
    store("d-new")
    with closing(sqlite3.connect(path)) as raw:
        rows = raw.execute("SELECT delivery_id, legacy FROM pickup_code ORDER BY id").fetchall()
    assert rows == [("d-old", 1), ("d-new", 0)]
