"""pickup codes issued before version 2 (ten characters, LOCKER1) stay valid: flagged legacy

Every code stored when this migration runs was issued by the old code (ten characters); it is
flagged so that the pickup still accepts its old form until its delivery ends. Codes issued
afterwards are twelve characters and not flagged, and an old-form code never opens them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (SQLite allows it with a default): no copy of the table at the upgrade
    op.add_column(
        "pickup_code", sa.Column("legacy", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.execute(sa.text("UPDATE pickup_code SET legacy = :yes").bindparams(yes=True))


def downgrade() -> None:
    with op.batch_alter_table("pickup_code", schema=None) as batch_op:
        batch_op.drop_column("legacy")
