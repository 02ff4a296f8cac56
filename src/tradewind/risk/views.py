"""What the risk checks look at (the market and the portfolio, as the caller sees them now) and
what they answer. Plain immutable values: the checks hold no reference to the OMS or the
broker. They are named tuples, not frozen dataclasses: one of each is made per order on the
live order path, and a named tuple is made in one call where a frozen dataclass sets each
field through ``object.__setattr__``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from tradewind.domain import OrderIntent, Tick


class MarketView(NamedTuple):
    """The last tick of the order's instrument (None: no price yet)."""

    tick: Tick | None


class PortfolioView(NamedTuple):
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


class RiskDecision(NamedTuple):
    """A check's answer. ``check`` is "ok" or the failed check's name; ``reason`` says, for a
    person, what was checked, the limit and the value (empty or informative when approved).
    ``str(decision)`` is "check: reason", the form the logs use.

    ``intent`` is what may be sent. An approval may amend it: ``refused_units`` (signed like
    the order, 0 when nothing was cut) were cut off the asked-for units by ``check`` (e.g.
    ``kill_switch`` when trading is reducing only: the part of a reversal that reduces goes,
    the part that would add does not). Send ``intent``, never the order asked for."""

    approved: bool
    check: str
    reason: str
    intent: OrderIntent
    refused_units: float = 0.0

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
    # the same as: opposite signs, then |units| + max(0, pending * sign(units)) <= |position|
    # (written out per side: this runs twice for every order; NaN and inf units never reduce)
    if units > 0:
        return position < 0 and units != math.inf and units + max(0.0, pending) <= -position
    if units < 0:
        return position > 0 and units != -math.inf and max(0.0, -pending) - units <= position
    return False


def reducing_part(position: float, pending: float, units: float) -> float:
    """The part of an order of ``units`` that only moves |position| toward zero (``reduces``
    holds for it): at most down to flat, less the same-side pending orders; 0 if none."""
    if position == 0 or units == 0 or not math.isfinite(units):
        return 0.0
    if math.copysign(1.0, units) == math.copysign(1.0, position):
        return 0.0
    same_side = max(0.0, pending * math.copysign(1.0, units))
    room = abs(position) - same_side
    return math.copysign(min(abs(units), room), units) if room > 0 else 0.0


def worst_position(position: float, pending: float, units: float) -> float:
    """The largest |position| the order can leave: with the pending orders filled or not."""
    return max(abs(position + units), abs(position + pending + units))


def num(x: float) -> str:
    """A number for a reason text: up to 12 significant digits, no float noise, no ".0"."""
    return format(x, ".12g")


def money(x: float) -> str:
    """An account-currency amount for a reason text, to the cent."""
    return f"{x:.2f}"
