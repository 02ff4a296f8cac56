"""Tables of the live path (migration 0004): the OMS, risk and the live trader.

``oms_audit`` is append-only: a trigger refuses UPDATE and DELETE on both databases, so the
log of every command, response and transaction can only grow. Orders and fills are keyed by
the client id (a ULID written before the order is sent) and by the broker's transaction id,
so replaying a transaction or re-resolving an order never duplicates a row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Float,
    Index,
    Integer,
    Row,
    String,
    Text,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from tradewind.storage.schema import Base


class OmsAccountRow(Base):
    """What the OMS has seen of one broker account: the last transaction applied."""

    __tablename__ = "oms_accounts"
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_transaction_id: Mapped[int] = mapped_column(BigInteger)
    reconciled_at: Mapped[datetime | None]
    reconcile_status: Mapped[str] = mapped_column(String(16), default="never")
    reconcile_detail: Mapped[str] = mapped_column(Text, default="")


class OmsOrderRow(Base):
    __tablename__ = "oms_orders"
    client_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    deployment: Mapped[str] = mapped_column(String(100), default="")
    instrument: Mapped[str] = mapped_column(String(32))
    units: Mapped[float] = mapped_column(Float)
    type: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(20))
    price: Mapped[float | None] = mapped_column(Float)
    price_bound: Mapped[float | None] = mapped_column(Float)
    time_in_force: Mapped[str | None] = mapped_column(String(8))
    stop_loss: Mapped[float | None] = mapped_column(Float)
    broker_order_id: Mapped[str | None] = mapped_column(String(40))
    filled_units: Mapped[float] = mapped_column(Float, default=0.0)
    avg_price: Mapped[float | None] = mapped_column(Float)
    algo: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    reject_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        Index("ix_oms_orders_account_state", "account_id", "state"),
        Index("ix_oms_orders_broker_order", "account_id", "broker_order_id"),
    )


class OmsFillRow(Base):
    __tablename__ = "oms_fills"
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    order_id: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[str | None] = mapped_column(String(128))
    deployment: Mapped[str] = mapped_column(String(100), default="")
    instrument: Mapped[str] = mapped_column(String(32))
    units: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    pl: Mapped[float] = mapped_column(Float)
    financing: Mapped[float] = mapped_column(Float)
    commission: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime]


class OmsFinancingRow(Base):
    """Daily financing the broker charged (or paid) per instrument: one row per transaction
    and instrument, added once to that position's realised P&L."""

    __tablename__ = "oms_financing"
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    instrument: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime]


class OmsPositionRow(Base):
    __tablename__ = "oms_positions"
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(32), primary_key=True)
    units: Mapped[float] = mapped_column(Float)
    avg_price: Mapped[float] = mapped_column(Float)
    realized_pl: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime]


class OmsAuditRow(Base):
    """Append-only: every command we sent, every answer and every transaction, raw JSON."""

    __tablename__ = "oms_audit"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    account_id: Mapped[str] = mapped_column(String(64))
    deployment: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(16))  # command | response | transaction | event
    client_id: Mapped[str | None] = mapped_column(String(128))
    transaction_id: Mapped[int | None] = mapped_column(BigInteger)  # a broker transaction's id
    body: Mapped[dict[str, Any]]
    __table_args__ = (
        Index("ix_oms_audit_account_at", "account_id", "at"),
        # a broker transaction is recorded (and applied) once: the insert that conflicts here
        # is how a replayed transaction is recognised
        Index("ux_oms_audit_transaction", "account_id", "transaction_id", unique=True),
    )


class KillSwitchRow(Base):
    """The latched kill switch of one scope (an account): only a person resets it."""

    __tablename__ = "risk_kill_switch"
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    changed_at: Mapped[datetime]
    changed_by: Mapped[str] = mapped_column(String(100))
    peak_nav: Mapped[float | None] = mapped_column(Float)
    day: Mapped[str | None] = mapped_column(String(10))
    day_start_nav: Mapped[float | None] = mapped_column(Float)


class RiskEventRow(Base):
    """A pre-trade or post-trade risk decision that refused an order, or a kill switch change."""

    __tablename__ = "risk_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    scope: Mapped[str] = mapped_column(String(100))
    deployment: Mapped[str] = mapped_column(String(100), default="")
    check: Mapped[str] = mapped_column(String(40))
    approved: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]]
    __table_args__ = (Index("ix_risk_events_scope_at", "scope", "at"),)


class LiveDeploymentRow(Base):
    """A deployment of the live trader: what it runs and whether it is alive."""

    __tablename__ = "live_deployments"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    config_fingerprint: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))  # starting | running | stopped | failed
    pid: Mapped[int | None] = mapped_column(Integer)
    health_url: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    detail: Mapped[str] = mapped_column(Text, default="")


class LiveMetricRow(Base):
    """A measurement of a deployment over time (latency in µs, counts), for dashboards."""

    __tablename__ = "live_metrics"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    deployment: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(60))
    value: Mapped[float] = mapped_column(Float)
    __table_args__ = (Index("ix_live_metrics_deployment_at", "deployment", "metric", "at"),)


class LivePnlRow(Base):
    """Positions and P&L in account currency at an instant (one row per instrument, and one
    with instrument '*' for the account: NAV, balance)."""

    __tablename__ = "live_pnl"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    account_id: Mapped[str] = mapped_column(String(64))
    deployment: Mapped[str] = mapped_column(String(100), default="")
    instrument: Mapped[str] = mapped_column(String(32))
    units: Mapped[float] = mapped_column(Float)
    avg_price: Mapped[float] = mapped_column(Float)
    mid: Mapped[float | None] = mapped_column(Float)
    realized_pl: Mapped[float] = mapped_column(Float)
    unrealized_pl: Mapped[float] = mapped_column(Float)
    nav: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (Index("ix_live_pnl_account_at", "account_id", "at"),)


def latest_rows(
    conn: Connection,
    row: type[Base],
    where: Any,
    order: InstrumentedAttribute[Any],
    limit: int,
) -> list[Row[Any]]:
    """The last ``limit`` rows of ``row`` matching ``where`` by ``order``, oldest first (the
    shape every "recent audit rows / fills / risk events" read has)."""
    rows = conn.execute(select(row).where(where).order_by(order.desc()).limit(limit)).all()
    return list(reversed(rows))
