"""The centre's engine and its own migrations (Alembic, run from code like ``locker db``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "fleet_alembic_version"


def make_engine(url: str) -> Engine:
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision (idempotent); return the revision."""
    config = _config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()
    return current_revision(engine) or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == ScriptDirectory.from_config(_config()).get_current_head()
