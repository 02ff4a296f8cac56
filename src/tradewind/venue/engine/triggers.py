"""Pending orders: when a price triggers them, their expiry, the take profit / stop loss a fill
places on the trade it opens, and the margin closeout run on every new price."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradewind.venue.engine import trailing
from tradewind.venue.engine.fills import Matcher
from tradewind.venue.engine.ledger import Ledger
from tradewind.venue.engine.model import ENTRY_TYPES, Account, Order
from tradewind.venue.quotes import Quote
from tradewind.venue.wire import NS, dec, parse_time

_DAY = 86_400 * NS
_GFD_CUTOFF = 21 * 3600 * NS  # a good-for-day order ends at 21:00 UTC (17:00 New York)


class Triggers:
    """Triggers and fills pending orders; owns the ``Matcher`` (a fill that opens a trade
    comes back here to place the trade's on-fill orders)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.matcher = Matcher(ledger, on_open=self.place_on_fill)

    # ------------------------------------------------------------------ placing

    def try_trigger(self, acct: Account, order: Order) -> dict[str, Any]:
        """A just-placed pending order: fill it if the current price triggers it (an FOK / IOC
        entry order that does not trigger is cancelled)."""
        q = self.ledger.quote(
            order.instrument if order.type in ENTRY_TYPES else _trade_instrument(acct, order)
        )
        if order.type == "MARKET_IF_TOUCHED" and q is not None and q.bids and q.asks:
            places = self.ledger.instruments[order.instrument].displayPrecision
            trailing.remember_market(order, q, places)  # even while the market is halted
            self._keep(acct, order, "initialMarketPrice", None)
        if q is None or not q.tradeable or not self._triggered(acct, order, q):
            if order.body.get("timeInForce") in ("FOK", "IOC") and order.type in ("LIMIT", "STOP"):
                return {
                    "orderCancelTransaction": self.ledger.cancel(
                        acct, order, "TIME_IN_FORCE_EXPIRED"
                    )
                }
            return {}
        return self._fill_triggered(acct, order, q)

    def _fill_triggered(self, acct: Account, order: Order, q: Quote) -> dict[str, Any]:
        """Fill an order its price triggered: an entry order for its units (within its price
        bound), a trade's order for the whole trade (a guaranteed stop at its price)."""
        if order.type in ENTRY_TYPES:
            bound = order.body.get("priceBound")
            return self.matcher.fill(
                acct, order, q, order.units, force=True, bound=Decimal(bound) if bound else None
            )
        trade = acct.trades[order.trade_id or ""]
        guarantee = None
        if order.body.get("guaranteed") is True and order.price is not None:
            premium = Decimal(order.body.get("guaranteedExecutionPremium", "0"))
            guarantee = (order.price, premium)
        return self.matcher.fill(
            acct, order, q, -trade.current_units, force=True, only_trade=trade, guarantee=guarantee
        )

    def _triggered(self, acct: Account, order: Order, q: Quote) -> bool:
        """Whether ``q`` triggers ``order`` (moving a trailing stop first)."""
        if not q.bids or not q.asks:
            return False
        places = self.ledger.instruments[q.instrument].displayPrecision
        if order.type == "MARKET_IF_TOUCHED":
            before = order.extra.get("initialMarketPrice")
            hit = trailing.touched(order, q, places)
            self._keep(acct, order, "initialMarketPrice", before)
            return hit
        if order.type == "TRAILING_STOP_LOSS":
            trade = acct.trades.get(order.trade_id or "")
            if trade is None or trade.state != "OPEN":
                return False
            before = order.extra.get("trailingStopValue")
            hit = trailing.trailing_triggered(order, trade, q, places)
            self._keep(acct, order, "trailingStopValue", before)
            return hit
        return _triggered(acct, order, q)

    def _keep(self, acct: Account, order: Order, key: str, before: str | None) -> None:
        """Store ``order.extra[key]`` with the unit if it changed from ``before`` (once per
        move of a trailing stop, not once per price)."""
        value = order.extra.get(key)
        if value is not None and value != before:
            self.ledger.note_state(acct, order, key, value)

    def place_dependent(self, acct: Account, fields: dict[str, Any], reason: str) -> dict[str, Any]:
        """Create a take profit / stop loss / trailing stop loss order from its
        create-transaction fields."""
        fields = dict(fields)
        kind = fields.pop("type")
        tx = self.ledger.emit(acct, kind, **fields, reason=reason)
        out: dict[str, Any] = {"orderCreateTransaction": tx}
        out.update(self.try_trigger(acct, acct.orders[tx["id"]]))
        return out

    def place_on_fill(self, acct: Account, order: Order, fill: dict[str, Any]) -> None:
        """The ``takeProfitOnFill`` / ``stopLossOnFill`` / ``trailingStopLossOnFill`` of
        ``order`` on the trade ``fill`` opened."""
        trade_id = fill["tradeOpened"]["tradeID"]
        trade = acct.trades[trade_id]
        inst = self.ledger.instruments[trade.instrument]
        for key, kind in (
            ("takeProfitOnFill", "TAKE_PROFIT_ORDER"),
            ("stopLossOnFill", "STOP_LOSS_ORDER"),
            ("trailingStopLossOnFill", "TRAILING_STOP_LOSS_ORDER"),
        ):
            spec = order.body.get(key)
            if not spec:
                continue
            fields: dict[str, Any] = {"type": kind, "tradeID": trade_id}
            if trade.client_id:
                fields["clientTradeID"] = trade.client_id
            if kind == "TRAILING_STOP_LOSS_ORDER":
                fields["distance"] = spec["distance"]
            elif "distance" in spec:
                d = Decimal(spec["distance"])
                price = trade.price - d if trade.current_units > 0 else trade.price + d
                fields["distance"] = spec["distance"]
                fields["price"] = dec(price, inst.displayPrecision)
            else:
                fields["price"] = spec["price"]
            fields["timeInForce"] = spec.get("timeInForce", "GTC")
            if "gtdTime" in spec:
                fields["gtdTime"] = spec["gtdTime"]
            fields["triggerCondition"] = "DEFAULT"
            if spec.get("clientExtensions"):
                fields["clientExtensions"] = spec["clientExtensions"]
            if "guaranteed" in spec:
                fields["guaranteed"] = spec["guaranteed"]
            if spec.get("guaranteed") is True:
                premium = self.ledger.guarantees.premium(inst)
                fields["guaranteedExecutionPremium"] = dec(premium, inst.displayPrecision)
            fields["orderFillTransactionID"] = fill["id"]
            self.place_dependent(acct, fields, "ON_FILL")

    # ------------------------------------------------------------------ a new price

    def on_quote(self, quote: Quote) -> None:
        """Expire, trigger and fill pending orders on the quote's instrument (oldest first),
        then run the margin closeout check, account by account (in the caller's unit)."""
        now = self.ledger.now()
        for acct in self.ledger.accounts.values():
            for order in sorted(acct.pending(), key=lambda o: int(o.id)):
                if order.state != "PENDING":
                    continue
                expiry = _expiry(order)
                if expiry is not None and now >= expiry:
                    self.ledger.cancel(acct, order, "TIME_IN_FORCE_EXPIRED")
                    continue
                inst = order.instrument or _trade_instrument(acct, order)
                if (
                    inst == quote.instrument
                    and quote.tradeable
                    and self._triggered(acct, order, quote)
                ):
                    self._fill_triggered(acct, order, quote)
            self.margin_check(acct)

    def margin_check(self, acct: Account) -> None:
        """Close every position at market once margin used reaches twice the NAV."""
        if not acct.open_trades():
            return
        tot = self.ledger.val(acct).totals()
        if tot["marginUsed"] <= 0 or tot["NAV"] * 2 > tot["marginUsed"]:
            return
        for inst, (long, short) in sorted(self.ledger.val(acct).sides().items()):
            q = self.ledger.quote(inst)
            if q is None or not q.tradeable:
                continue
            for units in (long, short):
                if units == 0:
                    continue
                tx = self.ledger.emit(
                    acct,
                    "MARKET_ORDER",
                    instrument=inst,
                    units=self.ledger.instruments[inst].units(float(-units)),
                    timeInForce="FOK",
                    positionFill="REDUCE_ONLY",
                    reason="MARGIN_CLOSEOUT",
                    marginCloseout={"reason": "MARGIN_CHECK_VIOLATION"},
                )
                self.matcher.fill(
                    acct,
                    acct.orders[tx["id"]],
                    q,
                    -units,
                    force=True,
                    position_fill="REDUCE_ONLY",
                    fill_reason="MARKET_ORDER_MARGIN_CLOSEOUT",
                )


def _triggered(acct: Account, order: Order, q: Quote) -> bool:
    price = order.price
    if price is None or not q.bids or not q.asks:
        return False
    bid, ask = Decimal(str(q.bid)), Decimal(str(q.ask))
    if order.type in ENTRY_TYPES:
        buy = order.units > 0
        if order.type == "LIMIT":
            return ask <= price if buy else bid >= price
        return ask >= price if buy else bid <= price
    trade = acct.trades.get(order.trade_id or "")
    if trade is None or trade.state != "OPEN":
        return False
    long = trade.current_units > 0
    if order.type == "TAKE_PROFIT":
        return bid >= price if long else ask <= price
    return bid <= price if long else ask >= price  # STOP_LOSS


def _trade_instrument(acct: Account, order: Order) -> str:
    trade = acct.trades.get(order.trade_id or "")
    return trade.instrument if trade is not None else ""


def _expiry(order: Order) -> int | None:
    tif = order.body.get("timeInForce")
    if tif == "GTD" and "gtdTime" in order.body:
        return parse_time(order.body["gtdTime"])
    if tif == "GFD":
        created = parse_time(order.create_time)
        cutoff = created - created % _DAY + _GFD_CUTOFF
        return cutoff if cutoff > created else cutoff + _DAY
    return None
