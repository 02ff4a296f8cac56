"""Risk limits of a live deployment: pre-trade checks, the kill switch's triggers and VaR.

Every limit is a positive, finite number; the optional ones (``None``) switch their check off.
Amounts are in the account currency; ``max_var`` and ``max_expected_shortfall`` are over one
bar. Per-instrument overrides replace the two unit limits for one instrument (tighter or
looser), everything else is account-wide.
"""

from __future__ import annotations

import math

from pydantic import Field, ValidationInfo, field_validator

from tradewind.config.base import FrozenModel

# The fewest bar returns a historical VaR is computed from (see tradewind.risk.var).
MIN_VAR_RETURNS = 30


def _positive(name: str, value: float | None) -> float | None:
    """``value`` unchanged if it is None or a positive finite number, else a clear error."""
    if value is None:
        return None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


class InstrumentLimits(FrozenModel):
    """Overrides of the unit limits for one instrument (None: the account-wide limit)."""

    max_order_units: float | None = None
    max_position_units: float | None = None

    @field_validator("max_order_units", "max_position_units")
    @classmethod
    def _check_positive(cls, v: float | None, info: ValidationInfo) -> float | None:
        return _positive(info.field_name or "limit", v)


class RiskLimits(FrozenModel):
    """The limits a live deployment trades under (see tradewind.risk for what each guards)."""

    max_order_units: float
    max_position_units: float  # |position| per instrument after the order
    max_total_notional: float  # sum of |units * mid| in account currency after the order
    price_collar_bps: float = 50.0  # |order price - mid| / mid, in basis points
    max_orders_per_minute: int = Field(default=120, ge=1)
    min_margin_headroom: float = 0.25  # margin available after the order >= this * NAV
    stale_after_s: float = 15.0  # a price older than this is stale
    max_daily_loss: float | None = None  # from the UTC day's first NAV -> REDUCING
    max_drawdown: float | None = 0.2  # fraction of the peak NAV -> HALTED
    max_reject_streak: int = Field(default=5, ge=1)
    max_error_streak: int = Field(default=5, ge=1)
    var_confidence: float = 0.99
    var_lookback: int = 500  # bar returns the VaR uses
    max_var: float | None = None
    max_expected_shortfall: float | None = None
    per_instrument: dict[str, InstrumentLimits] = Field(default_factory=dict)

    @field_validator(
        "max_order_units",
        "max_position_units",
        "max_total_notional",
        "price_collar_bps",
        "stale_after_s",
        "max_daily_loss",
        "max_var",
        "max_expected_shortfall",
    )
    @classmethod
    def _check_positive(cls, v: float | None, info: ValidationInfo) -> float | None:
        return _positive(info.field_name or "limit", v)

    @field_validator("min_margin_headroom")
    @classmethod
    def _check_headroom(cls, v: float) -> float:
        if not (math.isfinite(v) and 0 <= v < 1):
            raise ValueError(f"min_margin_headroom is a fraction of NAV in [0, 1), got {v}")
        return v

    @field_validator("max_drawdown")
    @classmethod
    def _check_drawdown(cls, v: float | None) -> float | None:
        if v is not None and not (0 < v < 1):
            raise ValueError(f"max_drawdown is a fraction of the peak NAV in (0, 1), got {v}")
        return v

    @field_validator("var_confidence")
    @classmethod
    def _check_confidence(cls, v: float) -> float:
        if not (0 < v < 1):
            raise ValueError(f"var_confidence must be strictly between 0 and 1, got {v}")
        return v

    @field_validator("var_lookback")
    @classmethod
    def _check_lookback(cls, v: int) -> int:
        if v < MIN_VAR_RETURNS:
            raise ValueError(
                f"var_lookback must be at least {MIN_VAR_RETURNS} bar returns "
                f"(the VaR check refuses with fewer), got {v}"
            )
        return v

    @field_validator("per_instrument")
    @classmethod
    def _check_symbols(cls, v: dict[str, InstrumentLimits]) -> dict[str, InstrumentLimits]:
        bad = sorted(s for s in v if not s.strip() or s != s.strip())
        if bad:
            raise ValueError(f"per_instrument has blank or padded instrument names: {bad}")
        return v

    def order_units_limit(self, instrument: str) -> float:
        """The most units one order of ``instrument`` may have (override, else account-wide)."""
        override = self.per_instrument.get(instrument)
        if override is not None and override.max_order_units is not None:
            return override.max_order_units
        return self.max_order_units

    def position_units_limit(self, instrument: str) -> float:
        """The largest |position| in ``instrument`` (override, else account-wide)."""
        override = self.per_instrument.get(instrument)
        if override is not None and override.max_position_units is not None:
            return override.max_position_units
        return self.max_position_units
