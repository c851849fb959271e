"""The centre's engine and its own migrations (Alembic, run from code like ``locker db``)."""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from locker import alembic_run

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "fleet_alembic_version"


def make_engine(url: str) -> Engine:
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision (idempotent); return the revision."""
    alembic_run.upgrade_to_head(engine, MIGRATIONS)
    return current_revision(engine) or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(alembic_run.alembic_config(MIGRATIONS)).get_current_head()
    return current_revision(engine) == head
