"""What a broker tells the platform, whatever the broker: transactions as events, positions
and the account as snapshots, pending orders. Broker adapters map their wire formats to these
(``tradewind.broker.oanda`` for v20); the OMS and the live trader read nothing else.

Every event has the broker's transaction id (``transaction_id``: increasing per account; each
one is applied exactly once, by its id), its time in epoch µs (None when the broker gave none)
and ``raw``, the broker's own payload, kept for the audit log only: no decision reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RawPayload = Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerTransaction:
    """Fields every broker transaction has. ``reason`` is the broker's reason for it (why an
    order was created, filled, cancelled or rejected), empty when it gave none."""

    transaction_id: int
    time_us: int | None = None
    reason: str = ""
    raw: RawPayload = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(BrokerTransaction):
    """An order (placed by a client: MARKET, LIMIT, STOP, ...) was accepted by the broker;
    ``broker_order_id`` is the broker's id of it."""

    client_id: str | None
    broker_order_id: str
    instrument: str = ""
    units: float = 0.0
    order_type: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(BrokerTransaction):
    """An order was filled (wholly or in part): ``units`` (signed) at ``price``; ``pl`` is the
    realised profit or loss, ``financing`` and ``commission`` its costs, all in the account
    currency as the broker reports them."""

    client_id: str | None
    broker_order_id: str
    instrument: str
    units: float
    price: float
    pl: float = 0.0
    financing: float = 0.0
    commission: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(BrokerTransaction):
    """An order was cancelled (``reason``); ``replaced_by`` is the broker id of the order that
    replaced it (a cancel-replace), None for a plain cancel."""

    client_id: str | None
    broker_order_id: str
    replaced_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(BrokerTransaction):
    """An order was refused by the broker (``reason``)."""

    client_id: str | None
    instrument: str = ""
    units: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FinancingCharged(BrokerTransaction):
    """The broker's daily financing (rollover) of the open positions: ``per_instrument`` is
    each instrument's amount in the account currency (paid < 0, received > 0), ``financing``
    their total. Adds to each position's realised P&L, once per transaction."""

    account_id: str = ""
    financing: float = 0.0
    per_instrument: tuple[tuple[str, float], ...] = ()
    client_id: str | None = None  # never one: an account's charge, not an order's


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherTransaction(BrokerTransaction):
    """Any other transaction (funding, financing, an order attached to a trade, ...): recorded
    once and moves the watermark, changes no order. ``kind`` is the broker's name for it;
    ``client_id`` the client id it names, if any (for the audit log)."""

    kind: str = ""
    client_id: str | None = None


BrokerEvent = (
    OrderAccepted
    | OrderFilled
    | OrderCancelled
    | OrderRejected
    | FinancingCharged
    | OtherTransaction
)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A stream is alive; ``last_transaction_id`` is the account's latest, when it says."""

    last_transaction_id: int | None = None


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """The broker's net position in an instrument (units > 0 long, < 0 short, 0 flat), the
    average price of the open side and its unrealised P&L in the account currency (marked by
    the broker when it answered)."""

    instrument: str
    units: float
    avg_price: float = 0.0
    unrealized_pl: float = 0.0


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The account's state at the broker, in its currency."""

    account_id: str
    currency: str
    nav: float
    balance: float
    margin_available: float
    last_transaction_id: int


@dataclass(frozen=True, slots=True)
class PendingOrder:
    """An order waiting at the broker. ``attached`` orders hang on a trade (stop-loss,
    take-profit: the broker's own, not the OMS's)."""

    broker_order_id: str
    client_id: str | None
    instrument: str
    units: float
    type: str
    attached: bool = False
    price: float | None = None
    price_bound: float | None = None
    time_in_force: str | None = None
    created_us: int | None = None
    raw: RawPayload = field(default_factory=dict, compare=False, repr=False)


__all__ = [
    "AccountSnapshot",
    "BrokerEvent",
    "BrokerTransaction",
    "FinancingCharged",
    "Heartbeat",
    "OrderAccepted",
    "OrderCancelled",
    "OrderFilled",
    "OrderRejected",
    "OtherTransaction",
    "PendingOrder",
    "PositionSnapshot",
    "RawPayload",
]
