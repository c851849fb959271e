"""The migrations create exactly the schema the models describe, and upgrading is idempotent."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
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
