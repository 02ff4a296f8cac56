"""The universe: the instruments the security master knows."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from tradewind.config.base import FrozenModel
from tradewind.domain import AssetClass, Instrument, InstrumentId


class InstrumentSpec(FrozenModel):
    symbol: str = Field(pattern=r"^[A-Z0-9]{2,12}_[A-Z0-9]{2,12}$")
    asset_class: AssetClass = AssetClass.FX
    pip_location: int = Field(ge=-10, le=4)
    display_precision: int = Field(ge=0, le=10)
    trade_units_precision: int = Field(default=0, ge=0, le=10)
    min_trade_size: float = Field(default=1.0, gt=0)

    def to_domain(self) -> Instrument:
        iid = InstrumentId(self.symbol)
        return Instrument(
            id=iid,
            asset_class=self.asset_class,
            base_currency=iid.base,
            quote_currency=iid.quote,
            pip_location=self.pip_location,
            display_precision=self.display_precision,
            trade_units_precision=self.trade_units_precision,
            min_trade_size=self.min_trade_size,
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
