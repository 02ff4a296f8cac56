"""The security master and run store: SQLAlchemy 2 models. Alembic migrations create them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tradewind.storage.types import UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UtcDateTime}


def _one_display_unit(context: Any) -> float:
    return 10.0 ** -int(context.get_current_parameters()["display_precision"])


class InstrumentRow(Base):
    __tablename__ = "instruments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32), unique=True)
    asset_class: Mapped[str] = mapped_column(String(16))
    base_currency: Mapped[str] = mapped_column(String(12))
    quote_currency: Mapped[str] = mapped_column(String(12))
    pip_location: Mapped[int] = mapped_column(SmallInteger)
    display_precision: Mapped[int] = mapped_column(SmallInteger)
    trade_units_precision: Mapped[int] = mapped_column(SmallInteger)
    min_trade_size: Mapped[float] = mapped_column(Float)
    # smallest price step; when an insert leaves it out, one unit of display precision
    tick_size: Mapped[float] = mapped_column(Float, default=_one_display_unit)
    calendar: Mapped[str] = mapped_column(String(16), default="fx")  # a TradingCalendar value
    created_at: Mapped[datetime]


class VendorRow(Base):
    __tablename__ = "data_vendors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    synthetic: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text, default="")


class ConfigRow(Base):
    """Every config a run or an import used, by fingerprint (SHA-256 of canonical JSON)."""

    __tablename__ = "configs"
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class IngestBatchRow(Base):
    """One import of one source. Written in the same transaction as its bars and quarantine."""

    __tablename__ = "ingest_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    source_kind: Mapped[str] = mapped_column(String(16))  # csv | parquet | synthetic | oanda
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    timeframe: Mapped[str] = mapped_column(String(4))
    side: Mapped[str] = mapped_column(String(3))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("data_vendors.id"))
    config_fingerprint: Mapped[str] = mapped_column(ForeignKey("configs.fingerprint"))
    status: Mapped[str] = mapped_column(String(16))
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    inserted: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped_duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    conflicts: Mapped[int] = mapped_column(BigInteger, default=0)
    overwritten: Mapped[int] = mapped_column(BigInteger, default=0)
    quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    first_ts: Mapped[datetime | None]
    last_ts: Mapped[datetime | None]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class QuarantineRow(Base):
    """A rejected input row, kept verbatim with the reason and where it came from."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batches.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(16))  # invalid | conflict
    line: Mapped[int | None] = mapped_column(BigInteger)  # 1-based line (CSV) or row (Parquet)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]]
    __table_args__ = (Index("ix_quarantine_batch_line", "batch_id", "line"),)


class BarSeriesRow(Base):
    """One series of bars: an instrument at a timeframe on one price side."""

    __tablename__ = "bar_series"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    timeframe: Mapped[str] = mapped_column(String(4))
    side: Mapped[str] = mapped_column(String(3))
    __table_args__ = (
        UniqueConstraint("instrument_id", "timeframe", "side", name="uq_bar_series_key"),
        CheckConstraint("side IN ('mid', 'bid', 'ask')", name="side"),
    )


class BarRow(Base):
    """OHLCV bars, keyed by series and time: the key is the range-scan order.

    A narrow key (an integer series id and the time) halves the cost of the primary-key index
    on bulk loads against (instrument, timeframe, side, time). No foreign keys, on purpose:
    Postgres checks each with a per-row trigger, which made a bulk COPY about nine times slower
    (bench/RESULTS.md). ``storage.bars`` is the only writer; it writes ids it resolved in the
    same transaction from rows that are never deleted, and ``storage.integrity`` checks it.
    The vendor of a bar is the vendor of its batch.
    """

    __tablename__ = "bars"
    series_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)
    batch_id: Mapped[int] = mapped_column(Integer)
    __table_args__ = ({"sqlite_with_rowid": False},)


class RunRow(Base):
    """A unit of work (synthesis, backtest, training, ...) and the config it ran with."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    config_fingerprint: Mapped[str] = mapped_column(ForeignKey("configs.fingerprint"), index=True)
    code_version: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    data_start: Mapped[datetime | None]  # the data range the run used (migration 0002)
    data_end: Mapped[datetime | None]
    # what to read the run with (migration 0009): {"in_sample": [...], "allowed": [...]}
    marks: Mapped[dict[str, Any] | None]


class BacktestResultRow(Base):
    """One strategy's outcome within a backtest run."""

    __tablename__ = "backtest_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    strategy: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]]
    instruments: Mapped[dict[str, Any]]  # {"symbols": [...]} (JSON objects keep both DBs simple)
    metrics: Mapped[dict[str, Any]]
    # financing paid at the rollovers (< 0: received); migration 0011; NULL: not modelled
    financing: Mapped[float | None] = mapped_column(Float)


class BacktestOrderRow(Base):
    """Every order a strategy placed, and how it ended."""

    __tablename__ = "backtest_orders"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("backtest_results.id", ondelete="CASCADE"), index=True
    )
    ref: Mapped[int] = mapped_column(Integer)
    instrument: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    units: Mapped[float] = mapped_column(Float)
    limit_price: Mapped[float | None] = mapped_column(Float)
    stop_price: Mapped[float | None] = mapped_column(Float)
    created_ts: Mapped[datetime]
    done_ts: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    filled_units: Mapped[float] = mapped_column(Float)


class BacktestFillRow(Base):
    __tablename__ = "backtest_fills"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("backtest_results.id", ondelete="CASCADE"), index=True
    )
    ts: Mapped[datetime]
    instrument: Mapped[str] = mapped_column(String(32))
    units: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    commission: Mapped[float] = mapped_column(Float)
    order_ref: Mapped[int] = mapped_column(Integer)
    spread_cost: Mapped[float | None] = mapped_column(Float)  # migration 0010; NULL: unknown
    slippage_cost: Mapped[float | None] = mapped_column(Float)


class BacktestTradeRow(Base):
    __tablename__ = "backtest_trades"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    result_id: Mapped[int] = mapped_column(
        ForeignKey("backtest_results.id", ondelete="CASCADE"), index=True
    )
    instrument: Mapped[str] = mapped_column(String(32))
    entry_ts: Mapped[datetime]
    exit_ts: Mapped[datetime | None]
    units: Mapped[float] = mapped_column(Float)
    entry_price: Mapped[float] = mapped_column(Float)
    exit_price: Mapped[float | None] = mapped_column(Float)
    pnl: Mapped[float] = mapped_column(Float)
    commission: Mapped[float] = mapped_column(Float)
    bars_held: Mapped[int] = mapped_column(Integer)
    mae: Mapped[float] = mapped_column(Float)
    mfe: Mapped[float] = mapped_column(Float)
    closed: Mapped[bool]
    exit_reason: Mapped[str | None] = mapped_column(String(16))  # migration 0010


class BacktestEquityRow(Base):
    """The equity curve: account value and exposure at each bar's close."""

    __tablename__ = "backtest_equity"
    result_id: Mapped[int] = mapped_column(
        ForeignKey("backtest_results.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    equity: Mapped[float] = mapped_column(Float)
    exposure: Mapped[float] = mapped_column(Float)


class VenueAccountRow(Base):
    """A paper venue account (migration 0003). Its balance, orders and trades are not columns:
    the venue rebuilds them by replaying the account's transactions."""

    __tablename__ = "venue_accounts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    hedging: Mapped[bool]
    alias: Mapped[str] = mapped_column(String(100))
    created_time: Mapped[str] = mapped_column(String(40))  # RFC3339 with nanoseconds, as sent


class VenueTransactionRow(Base):
    """One v20 transaction of a venue account, verbatim (the venue's source of truth)."""

    __tablename__ = "venue_transactions"
    account_id: Mapped[str] = mapped_column(
        ForeignKey("venue_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(48))
    time: Mapped[datetime]
    body: Mapped[dict[str, Any]]


class VenueOrderStateRow(Base):
    """What a venue order tracks that its create transaction has no field for (migration
    0013): a trailing stop loss's ``trailingStopValue``, a market-if-touched order's
    ``initialMarketPrice``; the last value written wins."""

    __tablename__ = "venue_order_state"
    account_id: Mapped[str] = mapped_column(
        ForeignKey("venue_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))


# The live path's tables (OMS, risk, live trader; the traders' account leases) and those of the
# scheduled jobs (promotions, live models, daily P&L) live in their own modules; importing them
# here puts them in Base.metadata wherever the schema is used.
import tradewind.storage.schema_lease  # noqa: E402, F401
from tradewind.storage import schema_live, schema_platform  # noqa: E402, F401
