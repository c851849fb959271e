"""Alembic environment: runs on the connection that :func:`locker.migrate.upgrade` hands in."""

from alembic import context
from sqlmodel import SQLModel

import locker.models  # noqa: F401 - registers the tables on SQLModel.metadata

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
