"""backtests: why each trade ended; what each fill paid in spread and slippage

Revision ID: 0010_backtest_costs_exits
Revises: 0009_run_sample_marks
Create Date: 2026-12-07 11:15:00.000000

Rows stored before this revision have NULLs: a trade's reason reads back as "", a fill's
spread and slippage costs as NaN (unknown, not zero).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_backtest_costs_exits"
down_revision: str | None = "0009_run_sample_marks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("backtest_trades", sa.Column("exit_reason", sa.String(length=16), nullable=True))
    op.add_column("backtest_fills", sa.Column("spread_cost", sa.Float(), nullable=True))
    op.add_column("backtest_fills", sa.Column("slippage_cost", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("backtest_fills", "slippage_cost")
    op.drop_column("backtest_fills", "spread_cost")
    op.drop_column("backtest_trades", "exit_reason")
