"""paper venue accounts and transactions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:50:20.373760
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradewind.storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "venue_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("hedging", sa.Boolean(), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("created_time", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue_accounts")),
    )
    op.create_table(
        "venue_transactions",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("time", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["venue_accounts.id"],
            name=op.f("fk_venue_transactions_account_id_venue_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "id", name=op.f("pk_venue_transactions")),
    )


def downgrade() -> None:
    op.drop_table("venue_transactions")
    op.drop_table("venue_accounts")
