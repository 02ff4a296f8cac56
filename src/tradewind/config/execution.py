"""How a deployment turns a target position into orders: the execution algorithm's config.

One model per algorithm, told apart by ``algo`` (a pydantic discriminated union, so a YAML
``execution: {algo: twap, slices: 4}`` validates against the TWAP fields only and a typo in a
field name is an error, not a silent default). The algorithms themselves live in
``tradewind.oms.execution``. Times are market seconds (tick time), not wall seconds; price
distances are basis points of the price (``bps``) or pips (``reprice_ticks``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, overload

from pydantic import Field, TypeAdapter, ValidationInfo, field_validator, model_validator

from tradewind.config.base import FrozenModel

# a price distance beyond this is a typo, not a policy (1000 bps = 10 %)
MAX_BPS = 1000.0


@overload
def _positive(info: ValidationInfo, value: float, most: float | None = None) -> float: ...
@overload
def _positive(
    info: ValidationInfo, value: float | None, most: float | None = None
) -> float | None: ...
def _positive(info: ValidationInfo, value: float | None, most: float | None = None) -> float | None:
    """``value`` unchanged if None or a positive finite number (at most ``most``), else an
    error naming the field."""
    if value is None:
        return None
    name = info.field_name or "value"
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    if most is not None and value > most:
        raise ValueError(f"{name} must be at most {most:g}, got {value:g}")
    return value


class MarketConfig(FrozenModel):
    """One MARKET FOK order whose worst price is ``bound_bps`` beyond the touch (ask for buys,
    bid for sells). Unfilled within the bound: the units are left, not chased."""

    algo: Literal["market"] = "market"
    bound_bps: float = 5.0

    @field_validator("bound_bps")
    @classmethod
    def _bps(cls, v: float, info: ValidationInfo) -> float:
        return _positive(info, v, MAX_BPS)


class BestLimitConfig(FrozenModel):
    """A LIMIT GTC order resting at the best bid (buys) / best ask (sells), re-priced to the
    new best when the market moves ``reprice_ticks`` pips away from it, or after
    ``reprice_s`` if the best is no longer our price; ``timeout_s`` after the start the rest
    is cancelled and, with ``on_timeout: market``, crossed with a MARKET FOK bounded by
    ``bound_bps`` (``cancel``: left)."""

    algo: Literal["best_limit"] = "best_limit"
    reprice_s: float = 5.0
    reprice_ticks: int = Field(default=1, ge=1)  # pips (10**pipLocation of the instrument)
    timeout_s: float = 60.0
    on_timeout: Literal["cancel", "market"] = "market"
    bound_bps: float = 5.0

    @field_validator("reprice_s", "timeout_s")
    @classmethod
    def _seconds(cls, v: float, info: ValidationInfo) -> float:
        return _positive(info, v)

    @field_validator("bound_bps")
    @classmethod
    def _bps(cls, v: float, info: ValidationInfo) -> float:
        return _positive(info, v, MAX_BPS)

    @model_validator(mode="after")
    def _check(self) -> BestLimitConfig:
        if self.reprice_s > self.timeout_s:
            raise ValueError(
                f"best_limit: reprice_s ({self.reprice_s:g}) is longer than timeout_s "
                f"({self.timeout_s:g}); the order would time out before it is ever re-priced"
            )
        return self


class StopConfig(FrozenModel):
    """A STOP entry order ``trigger_bps`` beyond the mid in the trade's direction (buy stops
    above, sell stops below). ``stop_loss_bps`` attaches a stop-loss that far beyond the
    trigger price, on the losing side, to the trade the fill opens."""

    algo: Literal["stop"] = "stop"
    trigger_bps: float
    stop_loss_bps: float | None = None
    time_in_force: Literal["GTC", "GFD"] = "GTC"

    @field_validator("trigger_bps", "stop_loss_bps")
    @classmethod
    def _bps(cls, v: float | None, info: ValidationInfo) -> float | None:
        return _positive(info, v, MAX_BPS)


class TwapConfig(FrozenModel):
    """``slices`` bounded MARKET FOK orders over ``horizon_s``: slice i is due at
    ``start + i * horizon/slices``, moved by up to ``jitter`` of a slice interval either way
    (seeded, so a run can be replayed). Units left at the horizon are reported, not chased."""

    algo: Literal["twap"] = "twap"
    horizon_s: float = 300.0
    slices: int = Field(default=5, ge=1, le=10_000)
    jitter: float = 0.2
    seed: int = Field(default=0, ge=0)
    bound_bps: float = 5.0

    @field_validator("horizon_s")
    @classmethod
    def _seconds(cls, v: float, info: ValidationInfo) -> float:
        return _positive(info, v)

    @field_validator("bound_bps")
    @classmethod
    def _bps(cls, v: float, info: ValidationInfo) -> float:
        return _positive(info, v, MAX_BPS)

    @field_validator("jitter")
    @classmethod
    def _jitter(cls, v: float) -> float:
        if not (math.isfinite(v) and 0 <= v <= 0.5):
            raise ValueError(
                f"jitter is a fraction of a slice interval in [0, 0.5] (so slices keep their "
                f"order), got {v}"
            )
        return v


AnyExecution = MarketConfig | BestLimitConfig | StopConfig | TwapConfig
ALGOS: tuple[str, ...] = ("market", "best_limit", "stop", "twap")
ExecutionConfig = Annotated[AnyExecution, Field(discriminator="algo")]
_ADAPTER: TypeAdapter[AnyExecution] = TypeAdapter(ExecutionConfig)


def parse_execution(data: Any) -> AnyExecution:
    """Validate a mapping (e.g. a YAML ``execution:`` block) into the config of its ``algo``;
    raises ``pydantic.ValidationError`` naming the bad field."""
    return _ADAPTER.validate_python(data)
