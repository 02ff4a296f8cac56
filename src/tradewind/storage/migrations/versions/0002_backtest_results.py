"""backtest results

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:27:43.453375
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradewind.storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backtest_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("strategy", sa.String(length=200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("instruments", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_backtest_results_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_results")),
    )
    with op.batch_alter_table("backtest_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backtest_results_run_id"), ["run_id"], unique=False)

    op.create_table(
        "backtest_equity",
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("ts", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("equity", sa.Float(), nullable=False),
        sa.Column("exposure", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["backtest_results.id"],
            name=op.f("fk_backtest_equity_result_id_backtest_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("result_id", "ts", name=op.f("pk_backtest_equity")),
    )
    op.create_table(
        "backtest_fills",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("ts", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("commission", sa.Float(), nullable=False),
        sa.Column("order_ref", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["backtest_results.id"],
            name=op.f("fk_backtest_fills_result_id_backtest_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_fills")),
    )
    with op.batch_alter_table("backtest_fills", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backtest_fills_result_id"), ["result_id"], unique=False
        )

    op.create_table(
        "backtest_orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("limit_price", sa.Float(), nullable=True),
        sa.Column("stop_price", sa.Float(), nullable=True),
        sa.Column("created_ts", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("done_ts", tradewind.storage.types.UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filled_units", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["backtest_results.id"],
            name=op.f("fk_backtest_orders_result_id_backtest_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_orders")),
    )
    with op.batch_alter_table("backtest_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backtest_orders_result_id"), ["result_id"], unique=False
        )

    op.create_table(
        "backtest_trades",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("entry_ts", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("exit_ts", tradewind.storage.types.UtcDateTime(), nullable=True),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("entry_price", sa.Float(), nullable=False),
        sa.Column("exit_price", sa.Float(), nullable=True),
        sa.Column("pnl", sa.Float(), nullable=False),
        sa.Column("commission", sa.Float(), nullable=False),
        sa.Column("bars_held", sa.Integer(), nullable=False),
        sa.Column("mae", sa.Float(), nullable=False),
        sa.Column("mfe", sa.Float(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["backtest_results.id"],
            name=op.f("fk_backtest_trades_result_id_backtest_results"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_trades")),
    )
    with op.batch_alter_table("backtest_trades", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backtest_trades_result_id"), ["result_id"], unique=False
        )

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("data_start", tradewind.storage.types.UtcDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("data_end", tradewind.storage.types.UtcDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("data_end")
        batch_op.drop_column("data_start")

    with op.batch_alter_table("backtest_trades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtest_trades_result_id"))

    op.drop_table("backtest_trades")
    with op.batch_alter_table("backtest_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtest_orders_result_id"))

    op.drop_table("backtest_orders")
    with op.batch_alter_table("backtest_fills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtest_fills_result_id"))

    op.drop_table("backtest_fills")
    op.drop_table("backtest_equity")
    with op.batch_alter_table("backtest_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtest_results_run_id"))

    op.drop_table("backtest_results")
