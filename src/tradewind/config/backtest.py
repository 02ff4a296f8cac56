"""A backtest run: instruments, period, strategies, cash, sizing and the cost model."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from tradewind.config.base import FrozenModel
from tradewind.domain import Timeframe


class FillTiming(StrEnum):
    NEXT_OPEN = "next_open"  # decided on bar t's close, filled at bar t+1's open (default)
    NEXT_CLOSE = "next_close"  # decided on bar t's close, filled at bar t+1's close


class SizingMethod(StrEnum):
    FIXED_UNITS = "fixed_units"  # value = units per position
    FIXED_NOTIONAL = "fixed_notional"  # value = quote-currency notional per position
    PERCENT_EQUITY = "percent_equity"  # value = fraction of equity (0.5 = 50 %)
    VOL_TARGET = "vol_target"  # value = annualised volatility target of the position


class Sizing(FrozenModel):
    method: SizingMethod = SizingMethod.FIXED_UNITS
    value: float = Field(default=1.0, gt=0)
    vol_lookback: int = Field(default=20, ge=2)  # bars, for vol_target


class SlippageModel(StrEnum):
    FIXED_BPS = "fixed_bps"
    VOLUME_SCALED = "volume_scaled"  # bps * (order units / bar volume), capped at max_bps


class Costs(FrozenModel):
    """Costs of trading; all zero by default. Prices pay half the spread on each side."""

    commission_per_unit: float = Field(default=0.0, ge=0)
    commission_bps: float = Field(default=0.0, ge=0)
    spread: Literal["none", "data", "fixed"] = "none"  # data: from stored bid/ask bars
    spread_pips: float = Field(default=0.0, ge=0)  # for spread: fixed
    slippage: SlippageModel = SlippageModel.FIXED_BPS
    slippage_bps: float = Field(default=0.0, ge=0)
    slippage_max_bps: float = Field(default=50.0, ge=0)
    # financing (overnight rollover), as OANDA charges it: the annual rate the trader PAYS on a
    # position's notional (units x price, quote currency), as a fraction (0.03 = 3 % a year);
    # negative = a credit the trader receives. Charged for every 17:00 New York rollover a
    # position is held over, one day each (365-day year): see ``backtest.financing``.
    financing_long_rate: float = Field(default=0.0, ge=-1.0, le=1.0, allow_inf_nan=False)
    financing_short_rate: float = Field(default=0.0, ge=-1.0, le=1.0, allow_inf_nan=False)

    @model_serializer(mode="wrap")
    def _omit_financing_when_off(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Rates of 0 (off) are left out of a dump, so configs written before financing
        existed keep their fingerprints; a non-zero rate is a different config."""
        data = handler(self)
        if isinstance(data, dict):
            for key in FINANCING_FIELDS:
                if data.get(key) == 0.0:
                    del data[key]
        return data

    @property
    def financing(self) -> bool:
        """Whether either financing rate is set (non-zero)."""
        return self.financing_long_rate != 0.0 or self.financing_short_rate != 0.0


FINANCING_FIELDS = ("financing_long_rate", "financing_short_rate")


class StrategySpec(FrozenModel):
    """A strategy loaded by name from strategies/ (or a path), with its parameters.

    ``label`` names its results (default: ``name``); labels must differ within a run, so one
    strategy can run twice (say, ``model_target`` with two registered models)."""

    name: str = Field(min_length=1)
    label: str | None = Field(default=None, min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def result_name(self) -> str:
        return self.label or self.name


class BacktestConfig(FrozenModel):
    kind: Literal["backtest"] = "backtest"
    name: str = Field(min_length=1)
    instruments: tuple[str, ...] = Field(min_length=1)
    timeframe: Timeframe
    side: Literal["mid", "bid", "ask"] = "mid"
    start: datetime | None = None  # UTC; None = from the first stored bar
    end: datetime | None = None  # UTC, exclusive; None = to the last stored bar
    features: str = "configs/features/default.yaml"  # a `kind: features` config
    # bars before ``start`` the features are computed over (never traded): indicators that
    # depend on where the series starts (EMA, RSI, ADX, ...) arrive warmed up, as in training
    warmup_bars: int = Field(default=0, ge=0)
    strategies: tuple[StrategySpec, ...] = Field(min_length=1)
    cash: float = Field(default=100_000.0, gt=0)
    sizing: Sizing = Sizing()
    costs: Costs = Costs()
    fill: FillTiming = FillTiming.NEXT_OPEN
    # an instrument whose buy-and-hold returns give beta and alpha and the tear sheet's
    # benchmark; None: the first of ``instruments``
    benchmark: str | None = None

    @model_validator(mode="after")
    def _check(self) -> BacktestConfig:
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"start {self.start} is not before end {self.end}")
        if len(set(self.instruments)) != len(self.instruments):
            raise ValueError("an instrument is listed twice")
        names = [s.result_name for s in self.strategies]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(
                f"strategies {', '.join(twice)} appear twice: give each a distinct label"
            )
        return self
