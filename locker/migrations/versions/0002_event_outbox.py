"""the event outbox: outbound events and the sinks' cursors

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

``sqlite_autoincrement``: event ids are a sink's cursor and must never be reused after pruning.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import locker.timestamps

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbound_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("delivery_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("occurred_at", locker.timestamps.UtcDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("outbound_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbound_event_delivery_id"), ["delivery_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_outbound_event_occurred_at"), ["occurred_at"], unique=False
        )

    op.create_table(
        "sink_cursor",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", locker.timestamps.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("sink_cursor")
    with op.batch_alter_table("outbound_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_event_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_outbound_event_delivery_id"))

    op.drop_table("outbound_event")
