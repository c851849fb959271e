"""Alembic run from code, on an engine and a folder of migrations: no ``alembic.ini``.

The box (:mod:`locker.migrate`, ``locker db upgrade``) and the centre (:mod:`fleet.centre.db`,
``locker fleet db upgrade``) each keep their own migrations and version table, and upgrade
them the same way, through this module. It imports nothing of the box's, so the centre may
use it, and loads Alembic (about 10 MB) only when a migration really runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(migrations: Path) -> Config:
    """Alembic's configuration for the migrations in ``migrations`` (its ``env.py`` and
    ``versions/``)."""
    from alembic.config import Config  # noqa: PLC0415 - alembic only to migrate

    config = Config()
    config.set_main_option("script_location", str(migrations))
    return config


def upgrade_to_head(engine: Engine, migrations: Path) -> None:
    """Apply every migration in ``migrations`` the database lacks, in one connection."""
    from alembic import command  # noqa: PLC0415 - alembic only to migrate

    config = alembic_config(migrations)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()
