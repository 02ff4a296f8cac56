"""Fills: an order against a quote's book, as v20 fills it.

The fill walks the book level by level (within a price bound), reduces opposite trades first
(or only opens, or only reduces, as the order's position fill says), checks margin for what it
opens, and makes one ORDER_FILL; or it cancels the order with OANDA's reason. Closed trades'
take profit / stop loss are cancelled with them; ``on_open`` places the new trade's on-fill
orders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from tradewind.venue.engine import guaranteed, views
from tradewind.venue.engine.ledger import Ledger
from tradewind.venue.engine.model import HOME_PLACES, ZERO, Account, Order, Trade, round_even
from tradewind.venue.engine.views import Valuation, money
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
    "MARKET_IF_TOUCHED": "MARKET_IF_TOUCHED_ORDER",
    "TRAILING_STOP_LOSS": "TRAILING_STOP_LOSS_ORDER",
}


class _Cancel(Exception):
    """A fill step's verdict: cancel the order with OANDA's ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Size:
    """How much of a fill reduces opposite trades and how much opens a new trade."""

    reduce: Decimal
    open_: Decimal

    @property
    def total(self) -> Decimal:
        return self.reduce + self.open_


@dataclass(frozen=True)
class _Legs:
    """What a fill does to trades: the ones it closes, the one it reduces, the one it opens,
    its realized P/L and the half spread per unit (home currency)."""

    closed: list[dict[str, Any]]
    reduced: dict[str, Any] | None
    opened: dict[str, Any] | None
    pl: Decimal
    half_spread: Decimal
    fee: Decimal = ZERO  # guaranteed execution fee


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
        guarantee: tuple[Decimal, Decimal] | None = None,
    ) -> dict[str, Any]:
        """Fill ``order`` for ``units`` at the quote, or cancel it with OANDA's reason.
        Returns ``{"orderFillTransaction": ..., "orderCancelTransaction": ...}`` (either).

        The steps: a tradeable quote; the opposite trades and the position fill mode; how much
        reduces and how much opens; the walk of the book (price, liquidity, bound); the margin
        for what opens; then the ORDER_FILL, its trades' aftermath and an IOC's rest.
        ``guarantee`` ``(price, premium)``: a guaranteed stop loss's fill, all of it at
        ``price`` whatever the book says, charging ``premium`` per unit."""
        inst = self.ledger.instruments[order.instrument]
        val = self.ledger.val(acct)
        buy = units > 0
        try:
            q, rate = _tradeable(q, val.rate(inst.quote_currency))
            opposite, mode = _opposite(acct, order, buy, only_trade, position_fill)
            size = _split(mode, abs(units), opposite, acct.hedging)
            if guarantee is not None:
                filled, vwap = size.total, guarantee[0]
            else:
                filled, vwap = _walk_book(q, buy, size.total, bound, force=force, partial=partial)
            if filled < size.total:  # IOC: the reducing part first, the rest opens
                size = _Size(min(size.reduce, filled), filled - min(size.reduce, filled))
            price = round_even(vwap, inst.displayPrecision)
            _check_margin(val, order.instrument, buy, size)
        except _Cancel as c:
            return self._cancelled(acct, order, c.reason)
        legs = _legs(acct, order, q, inst, rate, buy, size, price, opposite)
        if guarantee is not None:
            legs = _charge(legs, guarantee[1], rate)
        fill = self._emit_fill(acct, order, q, inst, rate, buy, filled, price, legs, fill_reason)
        out: dict[str, Any] = {"orderFillTransaction": fill}
        self._after_fill(acct, order, fill, legs)
        if filled < abs(units) and partial:
            out["orderCancelTransaction"] = self.ledger.emit(
                acct, "ORDER_CANCEL", orderID=order.id, reason="INSUFFICIENT_LIQUIDITY",
            )  # fmt: skip
        return out

    def _emit_fill(
        self,
        acct: Account,
        order: Order,
        q: Quote,
        inst: VenueInstrument,
        rate: Decimal,
        buy: bool,
        filled: Decimal,
        price: Decimal,
        legs: _Legs,
        fill_reason: str | None,
    ) -> dict[str, Any]:
        """The ORDER_FILL transaction."""
        sign = Decimal(1 if buy else -1)
        commission = inst.costs.commission_for(filled)
        return self.ledger.emit(
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
            pl=money(legs.pl),
            financing="0.0000",
            commission=money(commission),
            guaranteedExecutionFee=money(legs.fee),
            accountBalance=money(acct.balance + legs.pl - legs.fee - commission),
            gainQuoteHomeConversionFactor=dec(rate, 8),
            lossQuoteHomeConversionFactor=dec(rate, 8),
            halfSpreadCost=money(legs.half_spread * filled),
            tradeOpened=legs.opened,
            tradesClosed=legs.closed or None,
            tradeReduced=legs.reduced,
        )

    def _after_fill(self, acct: Account, order: Order, fill: dict[str, Any], legs: _Legs) -> None:
        """A closed trade's take profit / stop loss go with it; a new trade gets its on-fill
        orders."""
        for part in legs.closed:
            t = acct.trades[part["tradeID"]]
            for oid in t.order_ids:
                if oid and acct.orders[oid].state == "PENDING":
                    self.ledger.cancel(acct, acct.orders[oid], "LINKED_TRADE_CLOSED")
        if legs.opened is not None:
            self.on_open(acct, order, fill)


def _tradeable(q: Quote | None, rate: Decimal | None) -> tuple[Quote, Decimal]:
    """The quote and the quote-to-home rate, if the quote can be traded on (a two-sided,
    tradeable book with a home rate); else the fill cancels: MARKET_HALTED."""
    if q is None or not q.bids or not q.asks or rate is None or not q.tradeable:
        raise _Cancel("MARKET_HALTED")
    return q, rate


def _opposite(
    acct: Account,
    order: Order,
    buy: bool,
    only_trade: Trade | None,
    position_fill: str | None,
) -> tuple[list[Trade], str]:
    """The trades the fill may reduce (oldest first) and the position fill mode."""
    if only_trade is not None:
        return [only_trade], "REDUCE_ONLY"
    opposite = sorted(
        (t for t in acct.open_trades(order.instrument) if (t.current_units > 0) != buy),
        key=lambda t: int(t.id),
    )
    mode = position_fill or order.body.get("positionFill", "DEFAULT")
    if mode == "DEFAULT":
        mode = "OPEN_ONLY" if acct.hedging else "REDUCE_FIRST"
    return opposite, mode


def _split(mode: str, want: Decimal, opposite: list[Trade], hedging: bool) -> _Size:
    """How much of ``want`` units reduces the opposite trades and how much opens, as the
    position fill mode says (or the cancel reason when the mode cannot be honoured)."""
    opp_units = sum((abs(t.current_units) for t in opposite), ZERO)
    if mode == "OPEN_ONLY":
        if opp_units and not hedging:
            raise _Cancel("FIFO_VIOLATION")
        return _Size(ZERO, want)
    reduce = min(want, opp_units)
    if mode == "REDUCE_ONLY":
        if reduce == 0:
            raise _Cancel("POSITION_CLOSEOUT_FAILED")
        return _Size(reduce, ZERO)
    return _Size(reduce, want - reduce)


def _walk_book(
    q: Quote, buy: bool, wanted: Decimal, bound: Decimal | None, *, force: bool, partial: bool
) -> tuple[Decimal, Decimal]:
    """``(units filled, their average price)``, walking the book level by level within
    ``bound``. A forced fill takes what the book lacks at its last level; a fill short of
    ``wanted`` cancels unless it is partial (IOC) and filled something."""
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
        value += (wanted - filled) * levels[-1][0]
        filled = wanted
    if filled < wanted and (not partial or filled == 0):
        raise _Cancel("BOUNDS_VIOLATION" if bounded else "INSUFFICIENT_LIQUIDITY")
    return filled, value / filled


def _check_margin(val: Valuation, instrument: str, buy: bool, size: _Size) -> None:
    """Cancel (INSUFFICIENT_MARGIN) a fill that opens units whose added margin the NAV does
    not cover."""
    if size.open_ <= 0:
        return
    sides = val.sides()
    long, short = sides.get(instrument, (ZERO, ZERO))
    before = val.margin_for(instrument, long, short)
    if buy:
        long_after, short_after = long + size.open_, short + size.reduce
    else:
        long_after, short_after = long - size.reduce, short - size.open_
    after = val.margin_for(instrument, long_after, short_after)
    tot = val.totals(sides)
    if after > before and tot["marginUsed"] - before + after > tot["NAV"]:
        raise _Cancel("INSUFFICIENT_MARGIN")


def _legs(
    acct: Account,
    order: Order,
    q: Quote,
    inst: VenueInstrument,
    rate: Decimal,
    buy: bool,
    size: _Size,
    price: Decimal,
    opposite: list[Trade],
) -> _Legs:
    """The fill's trades: ``size.reduce`` units taken off the opposite trades (oldest first),
    ``size.open_`` units opened as a new trade (its id the fill's transaction id)."""
    half_spread = Decimal(str(q.ask - q.bid)) / 2 * rate
    closed, reduced, pl = _reductions(opposite, size.reduce, price, rate, half_spread, inst)
    opened: dict[str, Any] | None = None
    if size.open_ > 0:
        sign = Decimal(1 if buy else -1)
        margin_rate = views.margin_rate(acct, inst)
        opened = {
            "tradeID": str(acct.last_tx + 1),
            "units": dec(sign * size.open_, inst.tradeUnitsPrecision),
            "price": dec(price, inst.displayPrecision),
            "guaranteedExecutionFee": "0.0000",
            "halfSpreadCost": money(half_spread * size.open_),
            "initialMarginRequired": money(size.open_ * Decimal(str(q.mid)) * rate * margin_rate),
        }
        if order.body.get("tradeClientExtensions"):
            opened["clientExtensions"] = dict(order.body["tradeClientExtensions"])
    return _Legs(closed, reduced, opened, pl, half_spread)


def _charge(legs: _Legs, premium: Decimal, rate: Decimal) -> _Legs:
    """``legs`` with each closed or reduced part's guaranteed execution fee, and their sum."""
    total = ZERO
    for part in [*legs.closed, *([legs.reduced] if legs.reduced else [])]:
        part_fee = round_even(guaranteed.fee(premium, Decimal(part["units"]), rate), HOME_PLACES)
        part["guaranteedExecutionFee"] = money(part_fee)
        total += part_fee
    return replace(legs, fee=total)


def _reductions(
    opposite: list[Trade],
    reduce: Decimal,
    price: Decimal,
    rate: Decimal,
    half_spread: Decimal,
    inst: VenueInstrument,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, Decimal]:
    """``(tradesClosed, tradeReduced, realized P/L)`` of ``reduce`` units taken off the
    opposite trades, oldest first."""
    closed: list[dict[str, Any]] = []
    reduced_part = None
    pl_total = ZERO
    remaining = reduce
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
    return closed, reduced_part, pl_total


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
