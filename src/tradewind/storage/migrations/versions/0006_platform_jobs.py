"""scheduled jobs: model promotions, live models, daily pnl

Revision ID: 0006_platform_jobs
Revises: 0005_live_leases
Create Date: 2026-12-06 23:37:19.301356
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradewind.storage.types

revision: str = "0006_platform_jobs"
down_revision: str | None = "0005_live_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_models",
        sa.Column("deployment", sa.String(length=100), nullable=False),
        sa.Column("desired_model", sa.String(length=300), nullable=True),
        sa.Column("desired_at", tradewind.storage.types.UtcDateTime(), nullable=True),
        sa.Column("desired_by", sa.String(length=200), nullable=False),
        sa.Column("desired_reason", sa.Text(), nullable=False),
        sa.Column("live_model", sa.String(length=300), nullable=True),
        sa.Column("live_at", tradewind.storage.types.UtcDateTime(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("deployment", name=op.f("pk_live_models")),
    )
    op.create_table(
        "model_promotions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("run_key", sa.String(length=100), nullable=False),
        sa.Column("challenger_version", sa.String(length=20), nullable=False),
        sa.Column("champion_version", sa.String(length=20), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("gate", sa.JSON(), nullable=False),
        sa.Column("challenger_metrics", sa.JSON(), nullable=False),
        sa.Column("champion_metrics", sa.JSON(), nullable=False),
        sa.Column("window_start", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("window_end", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("challenger_run_id", sa.String(length=40), nullable=True),
        sa.Column("champion_run_id", sa.String(length=40), nullable=True),
        sa.Column("decided_at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_promotions")),
        sa.UniqueConstraint("model_name", "run_key", name=op.f("uq_model_promotions_model_name")),
    )
    op.create_table(
        "pnl_checks",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tolerance", sa.Float(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("checked_at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", "account_id", name=op.f("pk_pnl_checks")),
    )
    op.create_table(
        "pnl_daily",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("deployment", sa.String(length=100), nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("realized_pl", sa.Float(), nullable=False),
        sa.Column("unrealized_pl", sa.Float(), nullable=True),
        sa.Column("financing", sa.Float(), nullable=False),
        sa.Column("commission", sa.Float(), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("nav", sa.Float(), nullable=True),
        sa.Column("computed_at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "account_id", "deployment", "instrument", name=op.f("pk_pnl_daily")
        ),
    )


def downgrade() -> None:
    op.drop_table("pnl_daily")
    op.drop_table("pnl_checks")
    op.drop_table("model_promotions")
    op.drop_table("live_models")
