"""Fixtures shared by every test package: a real SQLite file, a manual clock, settings."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from locker import migrate
from locker.clock import ManualClock
from locker.config import Settings, load_settings
from locker.db import make_engine


def make_settings(tmp_path: Path, **sections: dict[str, Any]) -> Settings:
    overrides: dict[str, dict[str, Any]] = {
        "locker": {"demo": True, "bank_id": "test-bank", "data_dir": str(tmp_path)},
    }
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_settings(environ={}, overrides=overrides)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated database: a fresh SQLite file, or with ``PYTEST_LOCKER_DATABASE_URL`` set (for
    example to a throwaway PostgreSQL), that database with its schema dropped and rebuilt."""
    url = os.environ.get("PYTEST_LOCKER_DATABASE_URL") or f"sqlite:///{tmp_path / 'locker.db'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
