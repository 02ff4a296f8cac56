"""Orders as the OMS tracks them: the states an order goes through and what may follow what.

``NEW`` is written to the database (with its client id) before the order is sent, so a crash
between sending and recording leaves a record to resolve, never an order nobody knows about.
``UNKNOWN`` is an order whose answer was lost: it is resolved by its client id at the broker,
never by sending it again. ``REJECTED``, ``FILLED`` and ``CANCELLED`` are final.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class OrderState(StrEnum):
    NEW = "new"  # recorded, not yet sent
    SUBMITTED = "submitted"  # sent, no answer yet
    ACCEPTED = "accepted"  # the broker holds it (a pending LIMIT/STOP order)
    REJECTED = "rejected"  # the broker refused it: nothing happened
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"  # by us, by the broker (FOK unfilled, halted, margin) or expired
    UNKNOWN = "unknown"  # the answer was lost; resolve by client id


TERMINAL = frozenset({OrderState.REJECTED, OrderState.FILLED, OrderState.CANCELLED})
OPEN = frozenset(OrderState) - TERMINAL

_NEXT: dict[OrderState, frozenset[OrderState]] = {
    OrderState.NEW: frozenset(OrderState) - {OrderState.NEW},
    OrderState.SUBMITTED: frozenset(OrderState) - {OrderState.NEW, OrderState.SUBMITTED},
    OrderState.UNKNOWN: frozenset(OrderState) - {OrderState.NEW, OrderState.SUBMITTED},
    OrderState.ACCEPTED: frozenset(
        {
            OrderState.PARTIALLY_FILLED,
            OrderState.FILLED,
            OrderState.CANCELLED,
            OrderState.UNKNOWN,
        }
    ),
    OrderState.PARTIALLY_FILLED: frozenset(
        {OrderState.PARTIALLY_FILLED, OrderState.FILLED, OrderState.CANCELLED}
    ),
    OrderState.REJECTED: frozenset(),
    OrderState.FILLED: frozenset(),
    OrderState.CANCELLED: frozenset(),
}


class InvalidTransition(ValueError):
    """An order state change the state machine does not allow (a bug, or a broker surprise)."""


def can_transition(old: OrderState, new: OrderState) -> bool:
    """Whether ``old -> new`` is allowed. Staying in a state is allowed (idempotent updates)."""
    return old == new or new in _NEXT[old]


def transition(old: OrderState, new: OrderState, client_id: str = "") -> OrderState:
    """``new`` if ``old -> new`` is allowed, else ``InvalidTransition`` naming the order."""
    if not can_transition(old, new):
        who = f"order {client_id}: " if client_id else ""
        raise InvalidTransition(f"{who}cannot go from {old.value} to {new.value}")
    return new


OrderType = Literal["MARKET", "LIMIT", "STOP"]


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What a strategy or an execution algorithm wants sent, before risk checks.

    ``units`` > 0 buys, < 0 sells. MARKET orders take ``price_bound`` (the worst acceptable
    price) and FOK/IOC; LIMIT and STOP orders take ``price`` and GTC/GTD/GFD. ``stop_loss`` is
    the price of a stop-loss attached to the trade the fill opens. ``reduce_only`` sends
    positionFill REDUCE_ONLY. ``deployment``, ``algo`` and ``reason`` are recorded with the
    order and in the audit log.
    """

    instrument: str
    units: float
    type: OrderType = "MARKET"
    price: float | None = None
    price_bound: float | None = None
    time_in_force: str | None = None
    gtd_time_us: int | None = None
    stop_loss: float | None = None
    reduce_only: bool = False
    deployment: str = ""
    algo: str = ""
    reason: str = ""

    @property
    def check_price(self) -> float | None:
        """The price a collar check looks at: the limit/stop price, else the price bound."""
        return self.price if self.price is not None else self.price_bound


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order as the OMS knows it. ``client_id`` is a ULID made before the order is sent;
    ``broker_order_id`` is the broker's id once known. ``filled_units`` is signed like
    ``units``; ``avg_price`` is the average fill price (None before any fill)."""

    client_id: str
    account_id: str
    instrument: str
    units: float
    type: str
    state: OrderState
    created_us: int
    updated_us: int
    deployment: str = ""
    algo: str = ""
    reason: str = ""
    price: float | None = None
    price_bound: float | None = None
    time_in_force: str | None = None
    stop_loss: float | None = None
    broker_order_id: str | None = None
    filled_units: float = 0.0
    avg_price: float | None = None
    reject_reason: str | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN

    @property
    def unfilled_units(self) -> float:
        return self.units - self.filled_units if self.open else 0.0


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One fill (a v20 ORDER_FILL transaction): ``units`` signed, ``pl`` the realised P&L in
    the account currency, ``client_id`` None for orders that are not ours (stop-loss,
    take-profit, margin closeout)."""

    account_id: str
    transaction_id: int
    order_id: str
    instrument: str
    units: float
    price: float
    pl: float
    financing: float
    commission: float
    ts_us: int
    client_id: str | None = None
    deployment: str = ""


@dataclass(frozen=True, slots=True)
class PositionRecord:
    """Net position of one instrument in one account: ``units`` signed, ``avg_price`` of the
    open units (0 when flat), ``realized_pl`` the sum of the fills' P&L in account currency
    (financing and commission included)."""

    account_id: str
    instrument: str
    units: float
    avg_price: float
    realized_pl: float
    updated_us: int
