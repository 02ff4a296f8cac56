"""Trailing stop losses and market-if-touched orders: the price each watches, and when a price
triggers it.

A trailing stop loss on a long trade watches the bid (a sell's default trigger price): its
``trailingStopValue`` starts ``distance`` below the bid at its creation, rises with the bid and
never falls; a bid at or below it triggers the order. On a short trade it watches the ask:
``distance`` above the lowest ask, triggered by an ask at or above it. A market-if-touched
order records the market price when it is created (``initialMarketPrice``, its default
trigger price: the ask for a buy, the bid for a sell) and triggers when that price reaches
its ``price`` from that side: below the market it acts as a limit order, above it as a stop.

Neither value is a field of the order's create transaction: ``Triggers`` stores each with the
unit of work that set or moved it (``Ledger.note_state``, table ``venue_order_state``), and
replay puts the last stored value back.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.venue.engine.model import Order, Trade
from tradewind.venue.quotes import Quote
from tradewind.venue.wire import dec


def trigger_price(q: Quote, buy: bool, condition: str = "DEFAULT") -> Decimal:
    """The price an order's trigger condition watches (DEFAULT: the ask for a buy, the bid
    for a sell; INVERSE: the other side)."""
    bid, ask = Decimal(str(q.bid)), Decimal(str(q.ask))
    if condition == "BID":
        return bid
    if condition == "ASK":
        return ask
    if condition == "MID":
        return (bid + ask) / 2
    if condition == "INVERSE":
        buy = not buy
    return ask if buy else bid


def trail(order: Order, trade: Trade, q: Quote, places: int) -> Decimal:
    """Move a trailing stop loss's ``trailingStopValue`` with the price (only in the trade's
    favour) and return it."""
    long = trade.current_units > 0
    price = trigger_price(q, not long, order.body.get("triggerCondition", "DEFAULT"))
    distance = Decimal(order.body["distance"])
    candidate = price - distance if long else price + distance
    current = order.extra.get("trailingStopValue")
    if current is not None:
        old = Decimal(current)
        candidate = max(old, candidate) if long else min(old, candidate)
    order.extra["trailingStopValue"] = dec(candidate, places)
    return Decimal(order.extra["trailingStopValue"])


def trailing_triggered(order: Order, trade: Trade, q: Quote, places: int) -> bool:
    """Trail the stop with ``q``, then whether ``q`` reaches it."""
    value = trail(order, trade, q, places)
    long = trade.current_units > 0
    price = trigger_price(q, not long, order.body.get("triggerCondition", "DEFAULT"))
    return price <= value if long else price >= value


def touch_price(order: Order, q: Quote) -> Decimal:
    return trigger_price(q, order.units > 0, order.body.get("triggerCondition", "DEFAULT"))


def remember_market(order: Order, q: Quote, places: int) -> None:
    """A market-if-touched order's ``initialMarketPrice`` (the first price it sees)."""
    if "initialMarketPrice" not in order.extra:
        order.extra["initialMarketPrice"] = dec(touch_price(order, q), places)


def touched(order: Order, q: Quote, places: int) -> bool:
    """Whether ``q`` reaches a market-if-touched order's price from the side the market was
    on when the order was made (a price at the market touches at once)."""
    remember_market(order, q, places)
    initial = Decimal(order.extra["initialMarketPrice"])
    target, now = order.price, touch_price(order, q)
    assert target is not None
    return now <= target if target <= initial else now >= target
