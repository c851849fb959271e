"""server-side staff sessions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import locker.timestamps

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_session",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", locker.timestamps.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", locker.timestamps.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", locker.timestamps.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_session_username"), ["username"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_staff_session_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_staff_session_username"))
    op.drop_table("staff_session")
