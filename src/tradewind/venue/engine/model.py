"""The engine's state: accounts, orders and trades, rebuilt by applying transactions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

ZERO = Decimal(0)
HOME_PLACES = 4  # account-currency amounts, as OANDA shows them ("100000.0000")

# fields a transaction has that its order does not
TX_ONLY = {"id", "time", "userID", "accountID", "batchID", "requestID", "reason", "type"}
ORDER_TYPES = {
    "MARKET_ORDER": "MARKET",
    "LIMIT_ORDER": "LIMIT",
    "STOP_ORDER": "STOP",
    "TAKE_PROFIT_ORDER": "TAKE_PROFIT",
    "STOP_LOSS_ORDER": "STOP_LOSS",
    "MARKET_IF_TOUCHED_ORDER": "MARKET_IF_TOUCHED",
    "TRAILING_STOP_LOSS_ORDER": "TRAILING_STOP_LOSS",
}
ENTRY_TYPES = ("LIMIT", "STOP", "MARKET_IF_TOUCHED")  # pending orders that open trades
TRADE_ORDER_TYPES = ("TAKE_PROFIT", "STOP_LOSS", "TRAILING_STOP_LOSS")  # a trade's orders


def round_even(value: Decimal, places: int) -> Decimal:
    """``value`` to ``places`` decimals, ties to even (as fills and fundings are booked)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


@dataclass
class Order:
    """An order as its create transaction described it, and what became of it."""

    id: str
    type: str  # MARKET | an entry type | a trade order type
    body: dict[str, Any]  # the create transaction's fields that describe the order
    create_time: str
    state: str = "PENDING"
    extra: dict[str, Any] = field(default_factory=dict)  # fill/cancel/replace fields
    linked_instrument: str = ""  # a take profit's / stop loss's: its trade's instrument

    @property
    def instrument(self) -> str:
        return str(self.body.get("instrument", self.linked_instrument))

    @property
    def units(self) -> Decimal:
        return Decimal(self.body.get("units", "0"))

    @property
    def price(self) -> Decimal | None:
        p = self.body.get("price")
        return Decimal(p) if p is not None else None

    @property
    def trade_id(self) -> str | None:
        return self.body.get("tradeID")

    @property
    def client_id(self) -> str | None:
        ext = self.body.get("clientExtensions")
        return ext.get("id") if isinstance(ext, dict) else None


@dataclass
class Trade:
    id: str
    instrument: str
    price: Decimal
    open_time: str
    initial_units: Decimal
    current_units: Decimal
    initial_margin: str
    client_ext: dict[str, Any] | None = None
    state: str = "OPEN"
    realized_pl: Decimal = ZERO
    closed_units_value: Decimal = ZERO  # sum(units x price) of closes, for averageClosePrice
    closed_units: Decimal = ZERO
    closing_ids: list[str] = field(default_factory=list)
    close_time: str | None = None
    tp_order: str | None = None
    sl_order: str | None = None
    tsl_order: str | None = None
    financing: Decimal = ZERO  # DAILY_FINANCING paid (-) or received (+)

    @property
    def order_ids(self) -> tuple[str | None, ...]:
        """The trade's take profit, stop loss and trailing stop loss (None: none)."""
        return (self.tp_order, self.sl_order, self.tsl_order)

    @property
    def client_id(self) -> str | None:
        return self.client_ext.get("id") if self.client_ext else None


@dataclass
class Account:
    id: str
    currency: str
    hedging: bool
    alias: str
    created_time: str
    balance: Decimal = ZERO
    pl: Decimal = ZERO
    last_tx: int = 0
    last_fill_time: str | None = None
    gsl_mode: str = "DISABLED"  # guaranteedStopLossOrderMode
    gsl_fees: Decimal = ZERO  # guaranteed execution fees charged
    transactions: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    trades: dict[str, Trade] = field(default_factory=dict)
    position_pl: dict[str, list[Decimal]] = field(default_factory=dict)  # inst -> [long, short]
    client_orders: dict[str, str] = field(default_factory=dict)
    client_trades: dict[str, str] = field(default_factory=dict)
    financing: Decimal = ZERO  # lifetime totals (engine/financing.py, ORDER_FILL commission)
    commission: Decimal = ZERO
    margin_rate: Decimal | None = None  # set by CLIENT_CONFIGURE (None: instruments' rates)
    # inst -> [long side's financing, short side's financing, commission]
    position_costs: dict[str, list[Decimal]] = field(default_factory=dict)
    # Ids of the trades that may still be open and the orders that may still be pending, in
    # creation order (``apply`` adds them; the scans below drop the ones that no longer are):
    # the scans cost what is open, not the account's whole history.
    maybe_open: dict[str, None] = field(default_factory=dict, repr=False, compare=False)
    maybe_pending: dict[str, None] = field(default_factory=dict, repr=False, compare=False)

    def open_trades(self, instrument: str | None = None) -> list[Trade]:
        out: list[Trade] = []
        for t in _live(self.maybe_open, self.trades, "OPEN"):
            if instrument is None or t.instrument == instrument:
                out.append(t)
        return out

    def pending(self) -> list[Order]:
        return _live(self.maybe_pending, self.orders, "PENDING")


def _live(ids: dict[str, None], items: dict[str, Any], state: str) -> list[Any]:
    """The items of ``ids`` in ``state`` (the others are dropped from ``ids``)."""
    out: list[Any] = []
    gone: list[str] = []
    for i in ids:
        item = items[i]
        if item.state == state:
            out.append(item)
        else:
            gone.append(i)
    for i in gone:
        del ids[i]
    return out
