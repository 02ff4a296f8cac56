"""Prices for orders: rounding to the instrument's display precision, price bounds and stop
distances in basis points, pips, and market-time units.

Rounding is always *outward* where it matters: a MARKET bound or a stop is never nearer the
market than asked (a bound rounded toward the touch could turn a fill into a
BOUNDS_VIOLATION; a stop rounded inward would trigger early).
"""

from __future__ import annotations

import functools
import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Literal

from tradewind.domain.ticks import Tick

US = 1_000_000
_ROUNDING = {"up": ROUND_CEILING, "down": ROUND_FLOOR, "nearest": ROUND_HALF_EVEN}


def pip_size(display_precision: int) -> float:
    """One pip (``10**pipLocation``) from the display precision, for when ``pipLocation`` is
    not at hand: OANDA shows one digit beyond the pip (a fractional pip), so the pip is the
    second-to-last displayed decimal (EUR_USD 5 decimals -> 0.0001, USD_JPY 3 -> 0.01, an
    index with 1 decimal -> 1)."""
    return 10.0 ** -(display_precision - 1)


def round_price(price: float, precision: int, mode: Literal["up", "down", "nearest"]) -> float:
    """``price`` at ``precision`` decimals, rounded ``up``, ``down`` or to the nearest. Float
    noise (1.11507 * 1.0 = 1.1150700000000001) is removed first, so it never costs a tick."""
    if not math.isfinite(price):
        raise ValueError(f"cannot round price {price}")
    clean = Decimal(repr(float(price))).quantize(_step(precision + 6))
    return float(clean.quantize(_step(precision), rounding=_ROUNDING[mode]))


@functools.cache
def _step(precision: int) -> Decimal:
    """``10**-precision`` as a Decimal exponent for ``quantize`` (made once per precision)."""
    return Decimal(1).scaleb(-precision)


def away(price: float, units: float, bps: float, precision: int) -> float:
    """``price`` moved ``bps`` basis points in the direction that is worse for a buyer (up)
    when ``units`` > 0 or for a seller (down) otherwise, rounded outward (never less far)."""
    if units > 0:
        return round_price(price * (1.0 + bps / 1e4), precision, "up")
    return round_price(price * (1.0 - bps / 1e4), precision, "down")


def price_bound(tick: Tick, units: float, bps: float, precision: int) -> float:
    """A MARKET order's worst price: ``bps`` beyond the ask for buys, below the bid for sells."""
    return away(tick.ask if units > 0 else tick.bid, units, bps, precision)


def seconds_us(seconds: float) -> int:
    """Config seconds as tick-time microseconds."""
    return round(seconds * US)
