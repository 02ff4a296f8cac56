"""backtest trades: why each trade ended (signal, stop, limit, end_of_data)

Revision ID: 0010_trade_exit_reason
Revises: 0007_reporting_views
Create Date: 2026-12-07 11:15:00.000000

Trades stored before this revision have no reason (NULL, read back as "").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_trade_exit_reason"
down_revision: str | None = "0007_reporting_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("backtest_trades", sa.Column("exit_reason", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("backtest_trades", "exit_reason")
