"""The live trader's config (``kind: live``): a broker account and the deployments it runs.

A deployment is a strategy (a decision function, or a registered model by alias) on some
instruments at a timeframe, with its risk limits and its execution algorithm. Features come
from the same ``kind: features`` config the backtests use; a registered model is checked
against it (its contract) before the trader starts.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from tradewind.config.base import FrozenModel
from tradewind.config.execution import ExecutionConfig, MarketConfig
from tradewind.config.risk import RiskLimits
from tradewind.domain import Timeframe

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class BrokerSpec(FrozenModel):
    """Where orders go. ``environment``: ``practice`` or ``live`` (OANDA; live also needs
    ``allow_live``), ``venue`` (a paper venue: ``url``, or the in-process one the demo
    starts), or any name registered with ``tradewind.broker.environments``. The token comes
    from ``OANDA_TOKEN``/``OANDA_TOKEN_FILE`` (``TRADEWIND_VENUE_TOKEN`` for a venue), never
    from this file."""

    environment: str = "venue"
    account_id: str | None = None  # None: the first account the token sees
    url: str | None = None  # a venue's base URL, e.g. http://127.0.0.1:8081
    allow_live: bool = False

    @model_validator(mode="after")
    def _check(self) -> BrokerSpec:
        if self.environment == "live" and not self.allow_live:
            raise ValueError("environment 'live' trades real money: set allow_live: true")
        return self


class StrategySpec(FrozenModel):
    """``decision: "path/file.py:function"`` (obs -> target in [-1, 1]) or ``model:
    "models:/NAME@ALIAS"``; the same code the backtest's ``model_target`` runs."""

    decision: str | None = None
    model: str | None = None
    features: tuple[str, ...] | None = None  # the decision function's columns, in order
    max_units: float | None = Field(default=None, gt=0)  # the position at target +-1
    rebalance_threshold: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _one(self) -> StrategySpec:
        if (self.decision is None) == (self.model is None):
            raise ValueError("give exactly one of 'decision' (file.py:function) or 'model'")
        if self.model is not None and not self.model.startswith("models:/"):
            raise ValueError(
                f"model must be models:/NAME@ALIAS or models:/NAME/VERSION, got {self.model!r}"
            )
        if self.decision is not None and self.max_units is None:
            raise ValueError("a decision function needs max_units (the position at target 1)")
        return self


class DeploymentConfig(FrozenModel):
    name: str
    strategy: StrategySpec
    instruments: tuple[str, ...] = Field(min_length=1)
    timeframe: Timeframe
    features: str = "configs/features/default.yaml"
    history_bars: int = Field(default=1000, ge=0)  # warm-up bars read from the database
    risk: RiskLimits
    execution: ExecutionConfig = MarketConfig()

    @model_validator(mode="after")
    def _check(self) -> DeploymentConfig:
        if not _NAME.match(self.name):
            raise ValueError(f"deployment name {self.name!r}: letters, digits, _ . - only")
        if len(set(self.instruments)) != len(self.instruments):
            raise ValueError(f"deployment {self.name}: an instrument is listed twice")
        # an order's price must fall inside the risk collar, or every order is refused
        ex = self.execution
        reach = max(
            float(getattr(ex, "bound_bps", 0.0) or 0.0),
            float(getattr(ex, "trigger_bps", 0.0) or 0.0),
        )
        if reach >= self.risk.price_collar_bps:
            raise ValueError(
                f"deployment {self.name}: execution {ex.algo} reaches {reach:g} bps from the "
                f"touch, at or beyond risk.price_collar_bps {self.risk.price_collar_bps:g} "
                "(measured from the mid): every order would be refused"
            )
        return self


class HealthSpec(FrozenModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8788, ge=0, le=65535)  # 0: any free port


class LiveConfig(FrozenModel):
    kind: Literal["live"] = "live"
    name: str = Field(min_length=1)
    broker: BrokerSpec = BrokerSpec()
    deployments: tuple[DeploymentConfig, ...] = Field(min_length=1)
    health: HealthSpec = HealthSpec()
    reconcile_every_s: float = Field(default=60.0, gt=0)
    snapshot_every_s: float = Field(default=5.0, gt=0)  # P&L, heartbeat, kill switch refresh
    bar_grace_s: float = Field(default=2.0, ge=0)  # close a bar this long after its end
    # an order sent but not found at the broker is waited for this long before it is called
    # never placed (reconciliation neither halts on it nor trades past it meanwhile)
    order_grace_s: float = Field(default=60.0, gt=0)
    # the broker unreachable this long: the trader stops (working orders cancelled if it can)
    max_outage_s: float = Field(default=300.0, gt=0)
    # the account's single-writer lease: void this long after the last renewal (renewed
    # every third of it); a second trader on the account refuses to start while it is valid
    lease_ttl_s: float = Field(default=30.0, gt=0)
    # each lane's order path runs dry (an algorithm made, every risk check, nothing sent or
    # logged) once a bar, by the trader's timer this long (market time) before the bar's end,
    # so an order at the close finds its code and data in the CPU's caches; 0: never
    warm_order_path_s: float = Field(default=10.0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> LiveConfig:
        names = [d.name for d in self.deployments]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"deployment names appear twice: {', '.join(twice)}")
        seen: dict[str, str] = {}
        for d in self.deployments:
            for inst in d.instruments:
                if inst in seen:
                    raise ValueError(
                        f"{inst} is traded by both {seen[inst]} and {d.name}: one account "
                        "nets positions per instrument, so each instrument has one owner"
                    )
                seen[inst] = d.name
        return self
