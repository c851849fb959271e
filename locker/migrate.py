"""Schema migrations (Alembic) run from code, so ``locker db upgrade`` needs no alembic.ini.

:func:`upgrade` is idempotent: on an up-to-date database it changes nothing.

Alembic (about 10 MB of memory) is imported only to migrate: :func:`is_current`, which
``locker serve`` asks at every start, reads the one row of Alembic's ``alembic_version`` table
and the revision ids written in the migration files, which is all that question needs.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from locker import alembic_run
from locker.audit import GENESIS_HASH
from locker.db import transaction
from locker.models import AuditHead

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"


def alembic_config() -> Config:
    return alembic_run.alembic_config(MIGRATIONS)


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision and seed the audit chain; return the revision."""
    alembic_run.upgrade_to_head(engine, MIGRATIONS)
    with transaction(engine) as session:
        if session.get(AuditHead, 1) is None:
            session.add(AuditHead(id=1, last_id=0, last_hash=GENESIS_HASH))
    return current_revision(engine) or ""


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (Alembic's ``alembic_version`` row), ``None`` if none."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    if len(rows) > 1:
        raise RuntimeError(f"the database is at several revisions: {[r[0] for r in rows]}")
    return str(rows[0][0]) if rows else None


@cache
def revisions() -> dict[str, str | None]:
    """Every revision of the migration files and its parent (``None`` for the first)."""
    found: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS / "versions").glob("[!_]*.py")):
        names = _module_constants(path, ("revision", "down_revision"))
        found[str(names["revision"])] = names.get("down_revision")
    return found


def head_revision() -> str:
    """The newest revision of the migration files: the one no other names as its parent."""
    parents = {parent for parent in revisions().values() if parent is not None}
    heads = sorted(set(revisions()) - parents)
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have one head, not {heads}")
    return heads[0]


def _module_constants(path: Path, wanted: tuple[str, ...]) -> dict[str, str | None]:
    """The literal values of the module-level ``wanted`` names of a migration file."""
    found: dict[str, str | None] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id in wanted and value is not None:
            found[target.id] = ast.literal_eval(value)
    if "revision" not in found:
        raise RuntimeError(f"{path}: no revision id")
    return found


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
