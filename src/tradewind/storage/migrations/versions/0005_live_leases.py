"""live trader lease: one writer per broker account

Revision ID: 0005_live_leases
Revises: 0004
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradewind.storage.types

revision: str = "0005_live_leases"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_leases",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_live_leases")),
    )


def downgrade() -> None:
    op.drop_table("live_leases")
