"""security master and run store

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 01:38:04.049268
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tradewind.storage.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bars",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("ts", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("open", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "ts", name=op.f("pk_bars")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "configs",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_configs")),
    )
    with op.batch_alter_table("configs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_configs_kind"), ["kind"], unique=False)

    op.create_table(
        "data_vendors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_vendors")),
        sa.UniqueConstraint("name", name=op.f("uq_data_vendors_name")),
    )
    op.create_table(
        "instruments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("asset_class", sa.String(length=16), nullable=False),
        sa.Column("base_currency", sa.String(length=12), nullable=False),
        sa.Column("quote_currency", sa.String(length=12), nullable=False),
        sa.Column("pip_location", sa.SmallInteger(), nullable=False),
        sa.Column("display_precision", sa.SmallInteger(), nullable=False),
        sa.Column("trade_units_precision", sa.SmallInteger(), nullable=False),
        sa.Column("min_trade_size", sa.Float(), nullable=False),
        sa.Column("created_at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instruments")),
        sa.UniqueConstraint("symbol", name=op.f("uq_instruments_symbol")),
    )
    op.create_table(
        "bar_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("timeframe", sa.String(length=4), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.CheckConstraint("side IN ('mid', 'bid', 'ask')", name=op.f("ck_bar_series_side")),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_bar_series_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bar_series")),
        sa.UniqueConstraint("instrument_id", "timeframe", "side", name="uq_bar_series_key"),
    )
    op.create_table(
        "ingest_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("timeframe", sa.String(length=4), nullable=False),
        sa.Column("side", sa.String(length=3), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("config_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("inserted", sa.BigInteger(), nullable=False),
        sa.Column("skipped_duplicates", sa.BigInteger(), nullable=False),
        sa.Column("conflicts", sa.BigInteger(), nullable=False),
        sa.Column("overwritten", sa.BigInteger(), nullable=False),
        sa.Column("quarantined", sa.BigInteger(), nullable=False),
        sa.Column("first_ts", tradewind.storage.types.UtcDateTime(), nullable=True),
        sa.Column("last_ts", tradewind.storage.types.UtcDateTime(), nullable=True),
        sa.Column("started_at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("finished_at", tradewind.storage.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["config_fingerprint"],
            ["configs.fingerprint"],
            name=op.f("fk_ingest_batches_config_fingerprint_configs"),
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_ingest_batches_instrument_id_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["data_vendors.id"],
            name=op.f("fk_ingest_batches_vendor_id_data_vendors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_batches")),
    )
    with op.batch_alter_table("ingest_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_batches_checksum"), ["checksum"], unique=False)

    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("config_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("code_version", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", tradewind.storage.types.UtcDateTime(), nullable=False),
        sa.Column("finished_at", tradewind.storage.types.UtcDateTime(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["config_fingerprint"],
            ["configs.fingerprint"],
            name=op.f("fk_runs_config_fingerprint_configs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_runs_config_fingerprint"), ["config_fingerprint"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_runs_kind"), ["kind"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["ingest_batches.id"],
            name=op.f("fk_quarantine_batch_id_ingest_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_quarantine_batch_line", ["batch_id", "line"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_batch_line")

    op.drop_table("quarantine")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_kind"))
        batch_op.drop_index(batch_op.f("ix_runs_config_fingerprint"))

    op.drop_table("runs")
    with op.batch_alter_table("ingest_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_batches_checksum"))

    op.drop_table("ingest_batches")
    op.drop_table("bar_series")
    op.drop_table("instruments")
    op.drop_table("data_vendors")
    with op.batch_alter_table("configs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_configs_kind"))

    op.drop_table("configs")
    op.drop_table("bars")
