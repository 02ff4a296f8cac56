"""What the risk checks look at (the market and the portfolio, as the caller sees them now) and
what they answer. Plain frozen values: the checks hold no reference to the OMS or the broker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from tradewind.domain import OrderIntent, Tick


@dataclass(frozen=True, slots=True)
class MarketView:
    """The last tick of the order's instrument (None: no price yet)."""

    tick: Tick | None


@dataclass(frozen=True, slots=True)
class PortfolioView:
    """The account as the caller sees it now.

    ``positions`` are filled units per instrument; ``pending_units`` the net unfilled units of
    live orders per instrument (they may or may not fill, so checks take the worse case);
    ``mids`` the latest mid prices; ``to_account`` the factor from an instrument's quote
    currency to the account currency (1.0 when they are the same). Missing keys mean 0 for
    units; a missing mid or factor is unknown, and checks that need it refuse.
    """

    positions: Mapping[str, float]
    pending_units: Mapping[str, float]
    mids: Mapping[str, float]
    to_account: Mapping[str, float]
    nav: float
    margin_available: float

    def position(self, instrument: str) -> float:
        return float(self.positions.get(instrument, 0.0))

    def pending(self, instrument: str) -> float:
        return float(self.pending_units.get(instrument, 0.0))


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """A check's answer. ``check`` is "ok" or the failed check's name; ``reason`` says, for a
    person, what was checked, the limit and the value (empty or informative when approved).
    ``str(decision)`` is "check: reason", the form the logs use."""

    approved: bool
    check: str
    reason: str
    intent: OrderIntent

    @classmethod
    def ok(cls, intent: OrderIntent, reason: str = "") -> RiskDecision:
        return cls(True, "ok", reason, intent)

    @classmethod
    def refuse(cls, intent: OrderIntent, check: str, reason: str) -> RiskDecision:
        return cls(False, check, reason, intent)

    def __str__(self) -> str:
        return f"{self.check}: {self.reason}" if self.reason else self.check


def reduces(position: float, pending: float, units: float) -> bool:
    """Whether an order of ``units`` only moves |position| toward zero, never past it.

    Pending orders on the same side as this one might fill first, so they count against what
    is left to reduce: ``|units| + same-side pending <= |position|``. Pending orders on the
    other side are ignored (if they never fill, the position stays where it is)."""
    if position == 0 or units == 0 or not math.isfinite(units):
        return False
    if math.copysign(1.0, units) == math.copysign(1.0, position):
        return False
    same_side = max(0.0, pending * math.copysign(1.0, units))
    return abs(units) + same_side <= abs(position)


def worst_position(position: float, pending: float, units: float) -> float:
    """The largest |position| the order can leave: with the pending orders filled or not."""
    return max(abs(position + units), abs(position + pending + units))


def num(x: float) -> str:
    """A number for a reason text: up to 12 significant digits, no float noise, no ".0"."""
    return format(x, ".12g")


def money(x: float) -> str:
    """An account-currency amount for a reason text, to the cent."""
    return f"{x:.2f}"
