"""Guaranteed stop losses, as v20 (this description) has them: a STOP_LOSS order with
``guaranteed: true``, allowed by the account's ``guaranteedStopLossOrderMode``.

- DISABLED (the default): a guaranteed stop loss is rejected (STOP_LOSS_ORDER_GUARANTEED_NOT_
  ALLOWED, or STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED for an on-fill one).
- ALLOWED: ``guaranteed`` defaults to false; REQUIRED: it defaults to true and false is
  rejected (..._GUARANTEED_REQUIRED).
- The stop must be at least the instrument's minimum distance from the market
  (..._GUARANTEED_MINIMUM_DISTANCE_NOT_MET); triggered, it fills at exactly its price however
  far the market gapped through it, and the fill charges ``premium x units`` (converted to the
  account currency) as ``guaranteedExecutionFee``, taken off the balance.

A later v20's spelling (order type GUARANTEED_STOP_LOSS, ``guaranteedStopLossOnFill``, a
trade's ``guaranteedStopLoss``) is read as the guaranteed STOP_LOSS it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradewind.venue.instruments import VenueInstrument
from tradewind.venue.wire import VenueError, dec

MODES = ("DISABLED", "ALLOWED", "REQUIRED")
PREMIUM_PIPS = Decimal(5)  # EUR_USD's premium on OANDA: 0.00050
MINIMUM_DISTANCE_PIPS = Decimal(10)  # EUR_USD's minimum distance on OANDA: 0.0010


@dataclass(frozen=True)
class Guarantees:
    """Which accounts may place guaranteed stop losses, and what they cost.

    ``mode`` is every account's mode unless ``modes`` names the account; ``premiums`` and
    ``minimum_distances`` (price units, by instrument) override the pip-based defaults."""

    mode: str = "DISABLED"
    modes: dict[str, str] = field(default_factory=dict)
    premium_pips: Decimal = PREMIUM_PIPS
    minimum_distance_pips: Decimal = MINIMUM_DISTANCE_PIPS
    premiums: dict[str, Decimal] = field(default_factory=dict)
    minimum_distances: dict[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for m in (self.mode, *self.modes.values()):
            check_mode(m)

    def mode_of(self, account_id: str) -> str:
        return self.modes.get(account_id, self.mode)

    def premium(self, inst: VenueInstrument) -> Decimal:
        got = self.premiums.get(inst.name)
        return got if got is not None else self.premium_pips * Decimal(str(inst.pip))

    def minimum_distance(self, inst: VenueInstrument) -> Decimal:
        got = self.minimum_distances.get(inst.name)
        return got if got is not None else self.minimum_distance_pips * Decimal(str(inst.pip))

    def instrument_fields(self, inst: VenueInstrument) -> dict[str, Any]:
        """The GSL fields of a later v20's Instrument (mode ALLOWED: the instrument takes
        guaranteed stops wherever the account does)."""
        places = inst.displayPrecision
        return {
            "guaranteedStopLossOrderMode": "ALLOWED",
            "minimumGuaranteedStopLossDistance": dec(self.minimum_distance(inst), places),
            "guaranteedStopLossOrderExecutionPremium": dec(self.premium(inst), places),
        }


def check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ValueError(f"guaranteedStopLossOrderMode must be one of {', '.join(MODES)}")
    return str(mode)


def later_v20(spec: dict[str, Any], new: str, old: str) -> dict[str, Any]:
    """``spec`` with a later v20's ``new`` key read as a guaranteed ``old`` one (a 400 when a
    request has both)."""
    if spec.get(new) is None:
        return spec
    if spec.get(old) is not None:
        raise VenueError(400, f"Specify either '{old}' or '{new}', not both", "INVALID_VALUE")
    out = {k: v for k, v in spec.items() if k != new}
    value = spec[new]
    out[old] = {**value, "guaranteed": True} if isinstance(value, dict) else value
    return out


def wants_guarantee(spec: dict[str, Any], mode: str) -> bool | None:
    """Whether a stop loss request is guaranteed: its ``guaranteed`` flag, else the mode's
    default (None: the flag is not a boolean)."""
    flag = spec.get("guaranteed")
    if flag is None:
        return mode == "REQUIRED"
    return flag if isinstance(flag, bool) else None


def mode_reject(guaranteed: bool, mode: str, prefix: str) -> str | None:
    """The reject reason for a (non-)guaranteed stop loss under ``mode``, if any."""
    if guaranteed and mode == "DISABLED":
        return f"{prefix}_GUARANTEED_NOT_ALLOWED"
    if not guaranteed and mode == "REQUIRED":
        return f"{prefix}_GUARANTEED_REQUIRED"
    return None


def too_close(stop: Decimal, market: Decimal, minimum: Decimal) -> bool:
    return abs(market - stop) < minimum


def fee(premium: Decimal, units: Decimal, rate: Decimal) -> Decimal:
    """The account-currency fee of a guaranteed fill of ``units`` (unrounded)."""
    return premium * abs(units) * rate
