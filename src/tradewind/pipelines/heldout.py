"""The held-out window of a champion/challenger comparison, and a model version's backtest on it.

The window starts at the bar after the last bar either model trained or validated on (each
version's ``data_range.json``, logged by its training) and ends at the run's date (exclusive).
With rolling splits it starts no earlier than the rolled held-out start: exactly there when
both models' data ends before it, later when the champion saw part of it.
No such window, or one with fewer bars than the gate asks for, is refused with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from tradewind.config import load_config
from tradewind.config.backtest import BacktestConfig, Sizing, SizingMethod, StrategySpec
from tradewind.config.features import FeatureSpec
from tradewind.config.models import ModelConfig
from tradewind.config.promotion import PromotionGate
from tradewind.domain import PriceSide
from tradewind.pipelines.backtest import BacktestRun, run_backtest
from tradewind.registry.tracking import Tracking
from tradewind.registry.versions import run_artifact_text
from tradewind.storage.market import load_bars

SEEN_SPLITS = ("train", "validation")  # the test split is held out from training and selection


class RetrainRefused(ValueError):
    """The gate cannot judge: no held-out window, too short a one, or a model whose training
    data is unknown."""


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # exclusive
    bars: int

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def as_utc(value: datetime) -> datetime:
    """A plain ``datetime`` in UTC (a naive one is UTC; subclasses such as pendulum's, which
    Airflow hands out, become the standard type)."""
    v = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, UTC)


def seen_until(tracking: Tracking, name: str, version: str) -> datetime:
    """The last bar version ``version`` of ``name`` trained or validated on."""
    text = run_artifact_text(tracking, name, version, "data_range.json")
    if text is None:
        raise RetrainRefused(
            f"{name} version {version}: its training logged no data_range.json, so the bars "
            "it saw are unknown"
        )
    data: dict[str, Any] = json.loads(text)
    ends = [data[s]["last_bar"] for s in SEEN_SPLITS if isinstance(data.get(s), dict)]
    if not ends and "last_bar" in data:
        ends = [data["last_bar"]]
    if not ends:
        raise RetrainRefused(f"{name} version {version}: data_range.json names no last bar")
    return max(as_utc(datetime.fromisoformat(e)) for e in ends)


def config_seen_until(cfg: ModelConfig) -> datetime:
    """The last bar a training of ``cfg`` can validate on (before it has trained)."""
    return cfg.splits.validation.end - timedelta(seconds=cfg.timeframe.seconds)


def held_out_window(
    engine: Engine,
    cfg: ModelConfig,
    gate: PromotionGate,
    seen: datetime,
    end: datetime,
    *,
    not_before: datetime | None = None,
) -> Window:
    """The bars after ``seen`` (the last bar any compared model saw), and from ``not_before``
    when given, up to ``end``."""
    start = as_utc(seen) + timedelta(seconds=cfg.timeframe.seconds)
    if not_before is not None:
        start = max(start, as_utc(not_before))
    end = as_utc(end)
    if start >= end:
        raise RetrainRefused(
            f"model {cfg.name}: no held-out window: the models saw bars up to "
            f"{as_utc(seen).isoformat()}, the run's date is {end.isoformat()}"
        )
    with engine.connect() as conn:
        bars = load_bars(conn, cfg.instrument, cfg.timeframe, PriceSide(cfg.side), start, end)
    if len(bars) < gate.held_out.min_bars:
        late = not_before is not None and start > as_utc(not_before)
        why = f" (a model saw bars up to {as_utc(seen).isoformat()})" if late else ""
        raise RetrainRefused(
            f"model {cfg.name}: the held-out window [{start.isoformat()}, {end.isoformat()}) "
            f"has {len(bars)} {cfg.timeframe} bars, the gate wants at least "
            f"{gate.held_out.min_bars}{why}"
        )
    return Window(start, end, len(bars))


def version_features(tracking: Tracking, cfg: ModelConfig, version: str) -> FeatureSpec:
    """The feature spec the version was trained with (its logged ``config/features.yaml``),
    else the config's."""
    text = run_artifact_text(tracking, cfg.name, version, "config/features.yaml")
    if text is None:
        return load_config(cfg.features, FeatureSpec)
    return FeatureSpec.model_validate(yaml.safe_load(text))


def backtest_version(
    engine: Engine,
    cfg: ModelConfig,
    gate: PromotionGate,
    version: str,
    window: Window,
    *,
    role: str,
    tracking: Tracking,
    strategies_dir: str | Path,
) -> BacktestRun:
    """Backtest ``models:/NAME/VERSION`` over ``window`` with the model's own trading
    environment (cash, units, costs, fill): one stored run."""
    bt = BacktestConfig(
        name=f"{cfg.name}-held-out-{role}-v{version}",
        instruments=(cfg.instrument,),
        timeframe=cfg.timeframe,
        side=cfg.side,
        start=window.start,
        end=window.end,
        features=cfg.features,
        warmup_bars=gate.held_out.warmup_bars,
        strategies=(
            StrategySpec(
                name="model_target",
                label=role,
                params={"model": f"models:/{cfg.name}/{version}"},
            ),
        ),
        cash=cfg.env.cash,
        sizing=Sizing(method=SizingMethod.FIXED_UNITS, value=cfg.env.max_units),
        costs=cfg.env.costs,
        fill=cfg.env.fill,
    )
    spec = version_features(tracking, cfg, version)
    return run_backtest(engine, bt, strategies_dir, spec, tracking=tracking)
