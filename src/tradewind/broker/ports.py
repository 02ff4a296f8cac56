"""The broker port: what the platform asks of a broker, whatever the broker is.

Payloads are v20-shaped dicts (OANDA's wire format: decimals as strings, RFC3339 times),
since the paper venue and OANDA both speak it; the order request and its result are ours.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

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
    """What became of an order: ``state`` is the order's v20 state (FILLED, PENDING,
    CANCELLED, TRIGGERED). ``transactions`` are the v20 transactions the order produced, in id
    order; ``recovered`` is True when the answer was lost and the outcome was found by the
    client id instead."""

    client_id: str
    order_id: str
    state: str
    transactions: tuple[Json, ...] = ()
    last_transaction_id: str | None = None
    recovered: bool = False
    fill: Json | None = None
    cancel: Json | None = None
    trade_opened_id: str | None = None
    raw: Json = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransactionPage:
    """Transactions after an id, oldest first, and the account's last transaction id."""

    transactions: tuple[Json, ...]
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
    """An account at a broker. Reads may be retried; order-changing calls never are."""

    def account_summary(self) -> Json: ...

    def instruments(self) -> list[Json]: ...

    def pricing(self, instruments: Sequence[str]) -> list[Json]: ...

    def price_stream(self, instruments: Sequence[str]) -> Iterator[Json]: ...

    def transaction_stream(self, since_id: str | None = None) -> Iterator[Json]: ...

    def transactions_since(self, since_id: str) -> TransactionPage: ...

    def submit_order(self, order: OrderRequest) -> OrderResult: ...

    def resolve_order(self, client_id: str, since_id: str | None = None) -> OrderResult: ...

    def get_order(self, order_id: str | None = None, *, client_id: str | None = None) -> Json: ...

    def list_orders(
        self, *, state: str = "PENDING", instrument: str | None = None
    ) -> list[Json]: ...

    def cancel_order(
        self, order_id: str | None = None, *, client_id: str | None = None
    ) -> Json: ...

    def replace_order(self, order_id: str, order: OrderRequest) -> OrderResult: ...

    def list_trades(self, *, state: str = "OPEN", instrument: str | None = None) -> list[Json]: ...

    def close_trade(self, trade_id: str, units: Decimal | int | str | None = None) -> Json: ...

    def list_positions(self, *, open_only: bool = True) -> list[Json]: ...

    def close_position(
        self, instrument: str, *, long_units: str | None = None, short_units: str | None = None
    ) -> Json: ...
