"""backtests: the financing (overnight rollover) each strategy result paid

Revision ID: 0011_backtest_financing
Revises: 0010_backtest_costs_exits
Create Date: 2026-12-09 10:00:00.000000

Results stored before this revision have NULL: their financing reads back as None (not
modelled, as the engines did not charge it then), not as zero.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_backtest_financing"
down_revision: str | None = "0010_backtest_costs_exits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("backtest_results", sa.Column("financing", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("backtest_results", "financing")
