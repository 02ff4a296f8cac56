"""Parameters of the seeded synthetic FX bar generator (see tradewind.marketdata.synthetic)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field, field_validator

from tradewind.config.base import FrozenModel
from tradewind.domain import Timeframe


class SyntheticConfig(FrozenModel):
    """Everything that determines a synthetic series; the same config gives the same bars."""

    kind: Literal["synthetic"] = "synthetic"
    instrument: str = Field(default="EUR_USD", pattern=r"^[A-Z0-9]{2,12}_[A-Z0-9]{2,12}$")
    timeframe: Timeframe = Timeframe.H1
    bars: int = Field(default=5000, ge=1, le=50_000_000)
    seed: int = 7
    start: datetime = datetime(2024, 1, 1)  # UTC; moved forward to the first open market bar
    start_price: float = Field(default=1.10, gt=0)
    annual_vol: float = Field(default=0.08, gt=0, le=2.0)  # base volatility, annualised
    # Volatility regimes: a two-state Markov chain that scales volatility.
    high_vol_multiplier: float = Field(default=2.5, ge=1.0)
    regime_switch_per_day: float = Field(default=0.05, ge=0, le=1)  # chance of a switch per day
    # Intraday seasonality: volatility multiplier by UTC hour follows the FX sessions.
    seasonality: bool = True
    # Weekend gaps: no bars from Friday 21:00 to Sunday 21:00 UTC; the gap moves price.
    weekends: bool = True
    weekend_gap_vol_hours: float = Field(default=6.0, ge=0)
    # Spread in pips (pip = 10**pip_location); wider in the quiet hours and high-vol regime.
    spread_pips: float = Field(default=0.8, ge=0)
    pip_location: int = -4
    # The predictable component: a hidden AR(1) drift. Each bar's log return is
    # drift_t + noise_t with drift_t = phi * drift_{t-1} + eps_t, and the drift's share of the
    # return variance is ``signal_share``. phi close to 1 makes momentum models pay off.
    signal_share: float = Field(default=0.05, ge=0, lt=1)
    signal_persistence: float = Field(default=0.9, ge=0, lt=1)
    volume_base: float = Field(default=1000.0, gt=0)
    price_decimals: int = Field(default=5, ge=0, le=10)

    @field_validator("start")
    @classmethod
    def _naive_is_utc(cls, v: datetime) -> datetime:
        return v if v.tzinfo is None else v.astimezone(UTC).replace(tzinfo=None)
