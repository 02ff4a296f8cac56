"""The universe: the instruments the security master knows.

FX pairs, metals, CFDs, indices, equities and crypto alike. An instrument's currency is the
quote part of its symbol (``AAPL_USD`` trades in USD). Reference data left out is derived:
``tick_size`` from ``display_precision`` (or the other way round), ``pip_location`` from the
tick size (equities and crypto have no pip of their own), the trading calendar from the asset
class (``tradewind.domain.calendars``).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tradewind.config.base import FrozenModel
from tradewind.domain import AssetClass, Instrument, InstrumentId, TradingCalendar
from tradewind.domain.instruments import DEFAULT_CALENDAR


def decimals(x: float) -> int:
    """Decimal places of a tick size such as 0.01 (2) or 0.25 (2)."""
    text = f"{x:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


class InstrumentSpec(FrozenModel):
    symbol: str = Field(pattern=r"^[A-Z0-9]{2,12}_[A-Z0-9]{2,12}$")
    asset_class: AssetClass = AssetClass.FX
    pip_location: int | None = Field(default=None, ge=-10, le=4)
    display_precision: int | None = Field(default=None, ge=0, le=10)
    tick_size: float | None = Field(default=None, gt=0)
    trade_units_precision: int = Field(default=0, ge=0, le=10)
    min_trade_size: float = Field(default=1.0, gt=0)
    calendar: TradingCalendar | None = None

    @field_validator("calendar", mode="before")
    @classmethod
    def _calendar(cls, v: object) -> object:
        return TradingCalendar.parse(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _precision(self) -> InstrumentSpec:
        if self.display_precision is None and self.tick_size is None:
            raise ValueError(
                f"{self.symbol}: give display_precision or tick_size (the smallest price step)"
            )
        if self.tick_size is not None:
            dp = decimals(self.tick_size)
            if self.display_precision is not None and dp > self.display_precision:
                raise ValueError(
                    f"{self.symbol}: tick_size {self.tick_size} has more decimals than "
                    f"display_precision {self.display_precision}"
                )
        return self

    @property
    def resolved_display_precision(self) -> int:
        if self.display_precision is not None:
            return self.display_precision
        assert self.tick_size is not None  # the validator holds one of the two
        return decimals(self.tick_size)

    @property
    def resolved_tick_size(self) -> float:
        if self.tick_size is not None:
            return self.tick_size
        return 10.0**-self.resolved_display_precision

    @property
    def resolved_pip_location(self) -> int:
        if self.pip_location is not None:
            return self.pip_location
        return math.floor(math.log10(self.resolved_tick_size) + 1e-9)

    def to_domain(self) -> Instrument:
        iid = InstrumentId(self.symbol)
        return Instrument(
            id=iid,
            asset_class=self.asset_class,
            base_currency=iid.base,
            quote_currency=iid.quote,
            pip_location=self.resolved_pip_location,
            display_precision=self.resolved_display_precision,
            trade_units_precision=self.trade_units_precision,
            min_trade_size=self.min_trade_size,
            tick_size=self.resolved_tick_size,
            calendar=self.calendar or DEFAULT_CALENDAR[self.asset_class],
        )


class UniverseConfig(FrozenModel):
    kind: Literal["universe"] = "universe"
    name: str = Field(min_length=1)
    instruments: tuple[InstrumentSpec, ...] = Field(min_length=1)

    @field_validator("instruments")
    @classmethod
    def _unique(cls, v: tuple[InstrumentSpec, ...]) -> tuple[InstrumentSpec, ...]:
        seen: set[str] = set()
        for spec in v:
            if spec.symbol in seen:
                raise ValueError(f"instrument {spec.symbol} is listed twice")
            seen.add(spec.symbol)
        return v

    @model_validator(mode="after")
    def _sorted(self) -> UniverseConfig:
        # Order does not change what a universe is, so it must not change its fingerprint.
        ordered = tuple(sorted(self.instruments, key=lambda s: s.symbol))
        if ordered != self.instruments:
            object.__setattr__(self, "instruments", ordered)
        return self
