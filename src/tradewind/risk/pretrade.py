"""The pre-trade checks themselves: pure functions of one order and the limits, run in
``CHECKS`` order by ``PreTradeRisk``. Each returns None to pass or the reason it refuses:
what was checked, the value and the limit, in words a person reads in the audit log.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from tradewind.config.risk import RiskLimits
from tradewind.domain import OrderIntent, Tick
from tradewind.risk.killswitch import KillState
from tradewind.risk.rules import InstrumentRules
from tradewind.risk.views import PortfolioView, money, num, worst_position


class OrderContext(NamedTuple):
    """One order under check, with everything a check looks at. ``name`` is the order's
    instrument; ``position`` and ``pending`` are the portfolio's in it;
    ``sent_last_minute`` is how many orders went out in the 60 s up to ``now_us``.
    Immutable (a named tuple: made once per order on the live order path, cheaper than a
    frozen dataclass)."""

    intent: OrderIntent
    tick: Tick | None
    portfolio: PortfolioView
    now_us: int
    kill_state: KillState
    rules: InstrumentRules | None
    reducing: bool
    sent_last_minute: int
    name: str
    position: float
    pending: float

    @property
    def pos(self) -> str:
        return f"position {num(self.position)}, pending {num(self.pending)}"


# Checks after ``tradeable`` may rely on rules; after ``stale_price``, on a valid tick.


def kill_switch(o: OrderContext, limits: RiskLimits) -> str | None:
    if o.kill_state is KillState.HALTED:
        return "trading is halted; no order may be sent until a person resets the switch"
    if o.kill_state is KillState.REDUCING and not o.reducing:
        return (
            f"kill switch is reducing: only orders that reduce the position pass; "
            f"{o.name} {o.pos}, order {num(o.intent.units)}"
        )
    return None


def tradeable(o: OrderContext, limits: RiskLimits) -> str | None:
    if o.rules is None:
        return f"{o.name} has no instrument rules from the broker; it cannot be traded"
    if o.tick is not None and not o.tick.tradeable:
        return f"{o.name} is not tradeable now (market closed or halted)"
    return None


def stale_price(o: OrderContext, limits: RiskLimits) -> str | None:
    t = o.tick
    if t is None:
        return f"no price for {o.name} yet"
    if t.instrument != o.name:
        return f"the price given is for {t.instrument}, not {o.name}"
    if not (math.isfinite(t.bid) and math.isfinite(t.ask) and 0 < t.bid <= t.ask):
        return f"{o.name} price is invalid: bid {num(t.bid)}, ask {num(t.ask)}"
    age_s = (o.now_us - t.ts_us) / 1e6
    if age_s > limits.stale_after_s:
        return f"{o.name} price is {age_s:.1f} s old; limit {num(limits.stale_after_s)} s"
    return None


def min_size(o: OrderContext, limits: RiskLimits) -> str | None:
    assert o.rules is not None
    if not abs(o.intent.units) >= o.rules.min_trade_size:  # NaN fails too
        return (
            f"{o.name} order of {num(o.intent.units)} units is below the minimum trade size "
            f"{num(o.rules.min_trade_size)}"
        )
    return None


def precision(o: OrderContext, limits: RiskLimits) -> str | None:
    rules, intent = o.rules, o.intent
    assert rules is not None
    if not rules.units_ok(intent.units):
        return (
            f"{o.name} order of {num(intent.units)} units has more than "
            f"{rules.trade_units_precision} decimals (the broker's units precision)"
        )
    prices = intent.price, intent.price_bound, intent.stop_loss
    for label, price in zip(_PRECISION_LABELS, prices, strict=True):
        if price is not None and not rules.price_ok(price):
            return (
                f"{o.name} {label} {num(price)} has more than {rules.display_precision} "
                f"decimals (the broker's display precision)"
            )
    return None


_PRECISION_LABELS = ("price", "price bound", "stop loss")


def max_order_units(o: OrderContext, limits: RiskLimits) -> str | None:
    assert o.rules is not None
    limit, source = limits.order_units_limit(o.name), "limit"
    if o.rules.max_order_units is not None and o.rules.max_order_units < limit:
        limit, source = o.rules.max_order_units, "broker limit"
    if not abs(o.intent.units) <= limit:
        return f"{o.name} order of {num(o.intent.units)} units; {source} {num(limit)}"
    return None


def max_position(o: OrderContext, limits: RiskLimits) -> str | None:
    after = worst_position(o.position, o.pending, o.intent.units)
    limit = limits.position_units_limit(o.name)
    if after > limit:
        return (
            f"{o.name} position after the order would be {num(after)} units "
            f"({o.pos}, order {num(o.intent.units)}); limit {num(limit)}"
        )
    return None


def max_notional(o: OrderContext, limits: RiskLimits) -> str | None:
    p, this = o.portfolio, o.name
    assert o.tick is not None
    total = 0.0
    for name in sorted(p.positions.keys() | p.pending_units.keys() | {this}):
        if name == this:
            units = worst_position(o.position, o.pending, o.intent.units)
            mid: float | None = o.tick.mid
        else:
            units = worst_position(p.position(name), p.pending(name), 0.0)
            mid = p.mids.get(name)
        if units == 0:
            continue
        factor = p.to_account.get(name)
        if mid is None or factor is None:
            missing = "mid price" if mid is None else "account-currency factor"
            return f"no {missing} for {name}: the portfolio's notional is unknown"
        total += units * mid * factor
    if total > limits.max_total_notional:
        return (
            f"total notional after the order would be {money(total)} (account currency); "
            f"limit {money(limits.max_total_notional)}"
        )
    return None


def price_collar(o: OrderContext, limits: RiskLimits) -> str | None:
    assert o.tick is not None
    mid, intent = o.tick.mid, o.intent
    for what, price in ((None, intent.price), ("price bound", intent.price_bound)):
        if price is None:
            continue
        bps = abs(price - mid) / mid * 1e4
        if not bps <= limits.price_collar_bps:
            what = what or _PRICE_LABELS.get(intent.type, "price")
            return (
                f"{o.name} {what} {num(price)} is {bps:.1f} bps from mid {num(mid)}; "
                f"collar {num(limits.price_collar_bps)} bps"
            )
    return None


_PRICE_LABELS = {"LIMIT": "limit price", "STOP": "stop price"}


def order_rate(o: OrderContext, limits: RiskLimits) -> str | None:
    if o.sent_last_minute >= limits.max_orders_per_minute:
        return (
            f"{o.sent_last_minute} orders sent in the last 60 s; "
            f"limit {limits.max_orders_per_minute} per minute"
        )
    return None


def margin(o: OrderContext, limits: RiskLimits) -> str | None:
    assert o.rules is not None
    assert o.tick is not None
    p = o.portfolio
    factor = p.to_account.get(o.name)
    if factor is None:
        return f"no account-currency factor for {o.name}: the margin needed is unknown"
    needed = abs(o.intent.units) * o.tick.mid * factor * o.rules.margin_rate
    left, floor = p.margin_available - needed, limits.min_margin_headroom * p.nav
    if not left >= floor:
        return (
            f"{o.name} order needs margin {money(needed)}; margin available after it would "
            f"be {money(left)}; must stay >= {money(floor)} "
            f"({num(limits.min_margin_headroom)} x NAV {money(p.nav)})"
        )
    return None


Check = Callable[[OrderContext, RiskLimits], "str | None"]
CHECKS: tuple[tuple[str, Check], ...] = tuple(
    (f.__name__, f)
    for f in (
        kill_switch,
        tradeable,
        stale_price,
        min_size,
        precision,
        max_order_units,
        max_position,
        max_notional,
        price_collar,
        order_rate,
        margin,
    )
)
# Cutting a position must stay possible when these limits are already breached.
SKIPPED_WHEN_REDUCING = frozenset({"max_position", "max_notional", "margin"})
