"""The broker port: what the platform asks of a broker, whatever the broker is.

It speaks the domain (``tradewind.domain.broker``): transactions are events, positions and the
account snapshots, prices ticks. An adapter maps its wire format to them (``broker.oanda``
maps v20); the OMS and the live trader never see a broker's payload except as an event's
``raw``, which only the audit log stores. Candles and instrument specifications are still the
broker's JSON (ingestion and the risk rules read them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

from tradewind.domain.broker import (
    AccountSnapshot,
    BrokerEvent,
    Heartbeat,
    OrderCancelled,
    OrderFilled,
    PendingOrder,
    PositionSnapshot,
)
from tradewind.domain.ticks import Tick
from tradewind.risk.rules import InstrumentRules

OrderType = Literal["MARKET", "LIMIT", "STOP"]
TimeInForce = Literal["FOK", "IOC", "GTC", "GTD", "GFD"]
PositionFill = Literal["DEFAULT", "REDUCE_FIRST", "REDUCE_ONLY", "OPEN_ONLY"]
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order. ``units`` > 0 buys, < 0 sells. ``client_id`` (made up when empty) is how the
    order is found again when its answer is lost: it must be unique per account.

    MARKET orders take ``price_bound`` (the worst acceptable fill price) and FOK/IOC; LIMIT and
    STOP orders take ``price`` and GTC/GTD/GFD (``gtd_time`` with GTD). ``stop_loss`` and
    ``take_profit`` are prices of the orders attached to the trade the fill opens.
    """

    instrument: str
    units: Decimal | int | str
    type: OrderType = "MARKET"
    client_id: str = ""
    price: Decimal | float | str | None = None
    price_bound: Decimal | float | str | None = None
    time_in_force: TimeInForce | None = None
    gtd_time: str | None = None
    position_fill: PositionFill = "DEFAULT"
    stop_loss: Decimal | float | str | None = None
    take_profit: Decimal | float | str | None = None
    tag: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What became of an order: ``state`` is FILLED, PENDING, CANCELLED or TRIGGERED.
    ``transactions`` are the events the order produced, in transaction id order; ``fill`` and
    ``cancel`` are this order's own among them; ``recovered`` is True when the answer was lost
    and the outcome was found by the client id instead; ``raw`` is the broker's answer."""

    client_id: str
    order_id: str
    state: str
    transactions: tuple[BrokerEvent, ...] = ()
    last_transaction_id: str | None = None
    recovered: bool = False
    fill: OrderFilled | None = None
    cancel: OrderCancelled | None = None
    trade_opened_id: str | None = None
    raw: Json = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransactionPage:
    """Transactions after an id, oldest first, and the account's last transaction id."""

    transactions: tuple[BrokerEvent, ...]
    last_transaction_id: str


@runtime_checkable
class CandleSource(Protocol):
    """Where candles come from (ingestion needs nothing else)."""

    def candles(
        self,
        instrument: str,
        granularity: str,
        *,
        price: str = "MBA",
        start: str | None = None,
        end: str | None = None,
        count: int | None = None,
        include_first: bool | None = None,
    ) -> list[Json]: ...


@runtime_checkable
class Broker(CandleSource, Protocol):
    """An account at a broker. Reads may be retried; order-changing calls never are.

    Streams run until closed, reconnecting by themselves; ``heartbeats`` asks for
    ``Heartbeat`` markers too (a stream that is alive but quiet)."""

    @property
    def account_id(self) -> str: ...

    def account_summary(self) -> AccountSnapshot: ...

    def instruments(self) -> dict[str, InstrumentRules]:
        """The trading rules (sizes, decimals, margin) of every instrument the account may
        trade, by symbol."""
        ...

    def pricing(self, instruments: Sequence[str]) -> list[Tick]: ...

    def price_stream(
        self, instruments: Sequence[str], *, heartbeats: bool = False
    ) -> Iterator[Tick | Heartbeat]: ...

    def transaction_stream(
        self, since_id: str | None = None, *, heartbeats: bool = False
    ) -> Iterator[BrokerEvent | Heartbeat]: ...

    def transactions_since(self, since_id: str) -> TransactionPage: ...

    def transactions_between(
        self, start_us: int, end_us: int | None = None
    ) -> tuple[BrokerEvent, ...]:
        """Every transaction with ``start_us <= time < end_us`` (epoch µs; None: up to now),
        oldest first."""
        ...

    def submit_order(self, order: OrderRequest) -> OrderResult: ...

    def resolve_order(self, client_id: str, since_id: str | None = None) -> OrderResult: ...

    def list_orders(
        self, *, state: str = "PENDING", instrument: str | None = None
    ) -> list[PendingOrder]: ...

    def cancel_order(
        self, order_id: str | None = None, *, client_id: str | None = None
    ) -> tuple[BrokerEvent, ...]: ...

    def list_positions(self, *, open_only: bool = True) -> list[PositionSnapshot]: ...
