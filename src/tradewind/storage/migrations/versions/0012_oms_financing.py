"""oms: the daily financing (rollover) the broker charged, per transaction and instrument

Revision ID: 0012_oms_financing
Revises: 0011_backtest_financing
Create Date: 2026-12-07 15:45:00.000000

Its primary key (account, transaction, instrument) keeps a DAILY_FINANCING seen twice (stream
and backfill) counted once; the OMS adds each row's amount to that position's realised P&L.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradewind.storage.types

revision: str = "0012_oms_financing"
down_revision: str | None = "0011_backtest_financing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oms_financing",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "transaction_id", "instrument", name=op.f("pk_oms_financing")
        ),
    )


def downgrade() -> None:
    op.drop_table("oms_financing")
