"""The broker's reference data an order must respect: smallest size, decimals, margin rate.

A broker adapter maps its own instrument data to these (``Broker.instruments()``; OANDA's in
``broker.mapping.rules_from_v20``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    """``min_trade_size`` and ``max_order_units`` in units; ``trade_units_precision`` and
    ``display_precision`` are the decimals allowed in units and prices; ``margin_rate`` the
    fraction of notional held as margin. ``max_order_units`` None: no broker limit."""

    symbol: str
    min_trade_size: float
    trade_units_precision: int
    display_precision: int
    margin_rate: float
    max_order_units: float | None = None

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError("instrument rules need a symbol")
        if not (math.isfinite(self.min_trade_size) and self.min_trade_size > 0):
            raise ValueError(
                f"{self.symbol}: min_trade_size must be > 0, got {self.min_trade_size}"
            )
        for name in ("trade_units_precision", "display_precision"):
            if not 0 <= getattr(self, name) <= 10:
                raise ValueError(f"{self.symbol}: {name} must be 0..10, got {getattr(self, name)}")
        if not (math.isfinite(self.margin_rate) and 0 < self.margin_rate <= 1):
            raise ValueError(
                f"{self.symbol}: margin_rate must be in (0, 1], got {self.margin_rate}"
            )
        if self.max_order_units is not None and not self.max_order_units > 0:
            raise ValueError(
                f"{self.symbol}: max_order_units must be > 0 or None, got {self.max_order_units}"
            )

    def round_units(self, units: float) -> float:
        """``units`` at the units precision, toward zero: rounding never enlarges an order
        (nor flips a reducing one into an opening one)."""
        if not math.isfinite(units):
            raise ValueError(f"{self.symbol}: cannot round {units} units")
        scale = 10.0**self.trade_units_precision
        q = abs(units) * scale
        # 0.3 * 10 = 2.9999999999999996 is 3: a few units in the last place of slack, never
        # a relative one (1e-9 of a billion units would round up past the order)
        n = math.floor(q + 8 * math.ulp(q))
        if n == 0:
            return 0.0
        return math.copysign(round(n / scale, self.trade_units_precision), units)

    def round_price(self, price: float) -> float:
        """``price`` at the display precision (nearest), the most decimals v20 accepts."""
        return round(price, self.display_precision)

    def units_ok(self, units: float) -> bool:
        """Whether ``units`` has no more decimals than the broker accepts."""
        return math.isfinite(units) and round(units, self.trade_units_precision) == units

    def price_ok(self, price: float) -> bool:
        """Whether ``price`` has no more decimals than the broker accepts."""
        return math.isfinite(price) and round(price, self.display_precision) == price
