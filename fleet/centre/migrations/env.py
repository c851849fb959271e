"""Alembic environment of the centre: runs on the connection :func:`fleet.centre.db.upgrade`
hands in, with its own version table."""

from alembic import context

from fleet.centre.db import VERSION_TABLE
from fleet.centre.tables import metadata

config = context.config
context.configure(
    connection=config.attributes["connection"],
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
