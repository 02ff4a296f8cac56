"""The paper venue's account terms: per-instrument financing and commission, and the
accounts' guaranteed stop loss mode (``tradewind venue serve --config``).

Rates follow v20's sign (``venue/costs.py``): the amount credited per year per unit of
position value, so ``long_rate: -0.045`` means a long pays 4.5% a year. ``days_charged``
maps a rollover's New York weekday to the days it charges (OANDA's default charges the
weekend on Friday: three days, none on Saturday and Sunday); unnamed days keep the default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tradewind.config.base import FrozenModel

Weekday = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


class VenueInstrumentCosts(FrozenModel):
    long_rate: float = Field(default=0.0, ge=-1, le=1, allow_inf_nan=False)
    short_rate: float = Field(default=0.0, ge=-1, le=1, allow_inf_nan=False)
    days_charged: dict[Weekday, Annotated[int, Field(ge=0, le=7)]] = Field(default_factory=dict)
    commission: float = Field(default=0.0, ge=0, allow_inf_nan=False)  # per units_traded units
    units_traded: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    minimum_commission: float = Field(default=0.0, ge=0, allow_inf_nan=False)


class VenueConfig(FrozenModel):
    kind: Literal["venue"] = "venue"
    name: str = Field(min_length=1)
    guaranteed_stop_loss_mode: Literal["DISABLED", "ALLOWED", "REQUIRED"] = "DISABLED"
    # instrument name (EUR_USD) -> its costs; instruments not named cost nothing
    costs: dict[str, VenueInstrumentCosts] = Field(default_factory=dict)
