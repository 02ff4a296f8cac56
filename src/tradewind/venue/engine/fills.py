"""Fills: an order against a quote's book, as v20 fills it.

The fill walks the book level by level (within a price bound), reduces opposite trades first
(or only opens, or only reduces, as the order's position fill says), checks margin for what it
opens, and makes one ORDER_FILL; or it cancels the order with OANDA's reason. Closed trades'
take profit / stop loss are cancelled with them; ``on_open`` places the new trade's on-fill
orders.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tradewind.venue.engine.ledger import Ledger
from tradewind.venue.engine.model import HOME_PLACES, ZERO, Account, Order, Trade, round_even
from tradewind.venue.engine.views import money
from tradewind.venue.instruments import VenueInstrument
from tradewind.venue.quotes import Quote
from tradewind.venue.wire import dec, format_time

OnOpen = Callable[[Account, Order, dict[str, Any]], None]
_FILL_REASONS = {
    "MARKET": "MARKET_ORDER",
    "LIMIT": "LIMIT_ORDER",
    "STOP": "STOP_ORDER",
    "TAKE_PROFIT": "TAKE_PROFIT_ORDER",
    "STOP_LOSS": "STOP_LOSS_ORDER",
}


class Matcher:
    """Fills orders for the ledger's accounts; ``on_open(acct, order, fill)`` runs after a fill
    that opened a trade (before the cancel of an IOC's unfilled rest)."""

    def __init__(self, ledger: Ledger, on_open: OnOpen) -> None:
        self.ledger, self.on_open = ledger, on_open

    def _cancelled(self, acct: Account, order: Order, reason: str) -> dict[str, Any]:
        return {"orderCancelTransaction": self.ledger.cancel(acct, order, reason)}

    def fill(
        self,
        acct: Account,
        order: Order,
        q: Quote | None,
        units: Decimal,
        *,
        partial: bool = False,
        bound: Decimal | None = None,
        force: bool = False,
        only_trade: Trade | None = None,
        fill_reason: str | None = None,
        position_fill: str | None = None,
    ) -> dict[str, Any]:
        """Fill ``order`` for ``units`` at the quote, or cancel it with OANDA's reason.
        Returns ``{"orderFillTransaction": ..., "orderCancelTransaction": ...}`` (either)."""
        inst = self.ledger.instruments[order.instrument]
        val = self.ledger.val(acct)
        rate = val.rate(inst.quote_currency)
        if q is None or not q.bids or not q.asks or rate is None:
            return self._cancelled(acct, order, "MARKET_HALTED")
        if not q.tradeable:
            return self._cancelled(acct, order, "MARKET_HALTED")
        buy = units > 0
        # what the fill does to the position
        if only_trade is not None:
            opposite = [only_trade]
            mode = "REDUCE_ONLY"
        else:
            opposite = sorted(
                (t for t in acct.open_trades(order.instrument) if (t.current_units > 0) != buy),
                key=lambda t: int(t.id),
            )
            mode = position_fill or order.body.get("positionFill", "DEFAULT")
            if mode == "DEFAULT":
                mode = "OPEN_ONLY" if acct.hedging else "REDUCE_FIRST"
        opp_units = sum((abs(t.current_units) for t in opposite), ZERO)
        want = abs(units)
        if mode == "OPEN_ONLY":
            if opp_units and not acct.hedging:
                return self._cancelled(acct, order, "FIFO_VIOLATION")
            reduce, open_ = ZERO, want
        elif mode == "REDUCE_ONLY":
            reduce, open_ = min(want, opp_units), ZERO
            if reduce == 0:
                return self._cancelled(acct, order, "POSITION_CLOSEOUT_FAILED")
        else:
            reduce = min(want, opp_units)
            open_ = want - reduce
        wanted = reduce + open_
        # walk the book
        levels = [(Decimal(str(p)), Decimal(int(liq))) for p, liq in (q.asks if buy else q.bids)]
        filled, value, bounded = ZERO, ZERO, False
        for price, liq in levels:
            if bound is not None and (price > bound if buy else price < bound):
                bounded = True
                break
            take = min(liq, wanted - filled)
            if take > 0:
                filled += take
                value += take * price
            if filled >= wanted:
                break
        if filled < wanted and force and levels and not bounded:
            value += (wanted - filled) * levels[-1][0] if filled < wanted else ZERO
            filled = wanted
        if filled < wanted and (not partial or filled == 0):
            why = "BOUNDS_VIOLATION" if bounded else "INSUFFICIENT_LIQUIDITY"
            return self._cancelled(acct, order, why)
        if filled < wanted:  # IOC: the reducing part first, the rest opens
            reduce = min(reduce, filled)
            open_ = filled - reduce
        price = round_even(value / filled, inst.displayPrecision)
        sign = Decimal(1 if buy else -1)
        # margin
        margin_rate = Decimal(str(inst.marginRate))
        if open_ > 0:
            sides = val.sides()
            long, short = sides.get(order.instrument, (ZERO, ZERO))
            before = val.margin_for(order.instrument, long, short)
            if buy:
                long_after, short_after = long + open_, short + reduce
            else:
                long_after, short_after = long - reduce, short - open_
            after = val.margin_for(order.instrument, long_after, short_after)
            tot = val.totals(sides)
            if after > before and tot["marginUsed"] - before + after > tot["NAV"]:
                return self._cancelled(acct, order, "INSUFFICIENT_MARGIN")
        # the fill transaction
        closed, reduced_part = [], None
        pl_total = ZERO
        remaining = reduce
        half_spread = Decimal(str(q.ask - q.bid)) / 2 * rate
        for t in opposite:
            if remaining <= 0:
                break
            take = min(abs(t.current_units), remaining)
            remaining -= take
            t_sign = Decimal(1 if t.current_units > 0 else -1)
            pl = round_even((price - t.price) * t_sign * take * rate, HOME_PLACES)
            pl_total += pl
            part = {
                "tradeID": t.id,
                "units": dec(-t_sign * take, inst.tradeUnitsPrecision),
                "price": dec(price, inst.displayPrecision),
                "realizedPL": money(pl),
                "financing": "0.0000",
                "guaranteedExecutionFee": "0.0000",
                "halfSpreadCost": money(half_spread * take),
            }
            part = {k: v for k, v in part.items() if v is not None}
            if take == abs(t.current_units):
                closed.append(part)
            else:
                reduced_part = part
        tx_id = str(acct.last_tx + 1)
        opened: dict[str, Any] | None = None
        if open_ > 0:
            opened = {
                "tradeID": tx_id,
                "units": dec(sign * open_, inst.tradeUnitsPrecision),
                "price": dec(price, inst.displayPrecision),
                "guaranteedExecutionFee": "0.0000",
                "halfSpreadCost": money(half_spread * open_),
                "initialMarginRequired": money(open_ * Decimal(str(q.mid)) * rate * margin_rate),
            }
            if order.body.get("tradeClientExtensions"):
                opened["clientExtensions"] = dict(order.body["tradeClientExtensions"])
        fill = self.ledger.emit(
            acct,
            "ORDER_FILL",
            orderID=order.id,
            clientOrderID=order.client_id,
            instrument=order.instrument,
            units=dec(sign * filled, inst.tradeUnitsPrecision),
            price=dec(price, inst.displayPrecision),
            fullVWAP=dec(price, inst.displayPrecision),
            fullPrice=_full_price(q, inst),
            reason=fill_reason or _FILL_REASONS.get(order.type, "MARKET_ORDER"),
            pl=money(pl_total),
            financing="0.0000",
            commission="0.0000",
            guaranteedExecutionFee="0.0000",
            accountBalance=money(acct.balance + pl_total),
            gainQuoteHomeConversionFactor=dec(rate, 8),
            lossQuoteHomeConversionFactor=dec(rate, 8),
            halfSpreadCost=money(half_spread * filled),
            tradeOpened=opened,
            tradesClosed=closed or None,
            tradeReduced=reduced_part,
        )
        out: dict[str, Any] = {"orderFillTransaction": fill}
        for part in closed:  # a closed trade's take profit / stop loss go with it
            t = acct.trades[part["tradeID"]]
            for oid in (t.tp_order, t.sl_order):
                if oid and acct.orders[oid].state == "PENDING":
                    self.ledger.cancel(acct, acct.orders[oid], "LINKED_TRADE_CLOSED")
        if opened is not None:
            self.on_open(acct, order, fill)
        if filled < want and partial:
            out["orderCancelTransaction"] = self.ledger.emit(
                acct, "ORDER_CANCEL", orderID=order.id, reason="INSUFFICIENT_LIQUIDITY",
            )  # fmt: skip
        return out


def _full_price(q: Quote, inst: VenueInstrument) -> dict[str, Any]:
    """The ClientPrice a fill was made at."""
    return {
        "type": "PRICE",
        "instrument": q.instrument,
        "time": format_time(q.time_ns),
        "tradeable": q.tradeable,
        "bids": [
            {"price": dec(Decimal(str(p)), inst.displayPrecision), "liquidity": int(v)}
            for p, v in q.bids
        ],
        "asks": [
            {"price": dec(Decimal(str(p)), inst.displayPrecision), "liquidity": int(v)}
            for p, v in q.asks
        ],
        "closeoutBid": dec(Decimal(str(q.bid)), inst.displayPrecision),
        "closeoutAsk": dec(Decimal(str(q.ask)), inst.displayPrecision),
    }
