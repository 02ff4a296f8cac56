"""Shared inputs for the supervised-model tests: small synthetic bars, their features, and a
model config over them (fast estimators, so the whole directory runs in seconds)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tradewind.config import SyntheticConfig, load_config
from tradewind.config.features import FeatureSpec
from tradewind.config.models import ModelConfig
from tradewind.domain.series import BarSeries
from tradewind.features import build_features
from tradewind.marketdata.synthetic import generate_bars
from tradewind.ml import train_supervised
from tradewind.policy import ModelData, TrainedModel

REPO = Path(__file__).resolve().parents[3]
COLUMNS = ["rsi_14", "macd", "log_return_1", "zscore_20", "tod_sin"]

MakeConfig = Callable[..., ModelConfig]
MakeData = Callable[[BarSeries, ModelConfig], ModelData]


@pytest.fixture(scope="session")
def spec() -> FeatureSpec:
    return load_config(REPO / "configs/features/default.yaml", FeatureSpec)


@pytest.fixture(scope="session")
def bars() -> BarSeries:
    df = generate_bars(SyntheticConfig(instrument="EUR_USD", timeframe="H1", bars=1200, seed=11))
    col = lambda c: df[c].to_numpy(dtype=np.float64)  # noqa: E731
    ts = df["ts"].astype("int64").to_numpy()
    return BarSeries(ts, col("open"), col("high"), col("low"), col("close"), col("volume"))


def _at(ts_us: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(ts_us))).isoformat()


@pytest.fixture(scope="session")
def make_config(bars: BarSeries) -> MakeConfig:
    """A supervised config over ``bars`` (splits at 60 % / 80 %), with overrides: keyword
    ``learner`` entries update the learner, the rest update the config."""
    ts = bars.ts
    n = len(ts)
    a, b = ts[int(0.6 * n)], ts[int(0.8 * n)]
    end = ts[-1] + 3_600_000_000

    def make(learner: dict[str, Any] | None = None, **over: Any) -> ModelConfig:
        body: dict[str, Any] = {
            "kind": "model",
            "name": "test-model",
            "instrument": "EUR_USD",
            "timeframe": "H1",
            "features": str(REPO / "configs/features/default.yaml"),
            "columns": COLUMNS,
            "window": 3,
            "splits": {
                "train": {"start": _at(ts[0]), "end": _at(a)},
                "validation": {"start": _at(a), "end": _at(b)},
                "test": {"start": _at(b), "end": _at(end)},
            },
            "learner": {
                "type": "supervised",
                "estimator": "gradient_boosting",
                "params": {"max_iter": 20, "max_leaf_nodes": 7},
                "label": {"kind": "forward_return_sign", "horizon": 4},
                "cv": {"n_splits": 3, "embargo": 2},
                **(learner or {}),
            },
            "env": {"costs": {"spread": "fixed", "spread_pips": 0.8, "commission_bps": 0.2}},
            "seed": 3,
            **over,
        }
        return ModelConfig.model_validate(body)

    return make


@pytest.fixture(scope="session")
def make_data(spec: FeatureSpec) -> MakeData:
    def make(bars: BarSeries, cfg: ModelConfig) -> ModelData:
        frame = build_features(bars, spec)
        return ModelData.build(bars, frame.columns, frame.values, spec.fingerprint, cfg)

    return make


@pytest.fixture(scope="session")
def config(make_config: MakeConfig) -> ModelConfig:
    return make_config()


@pytest.fixture(scope="session")
def data(bars: BarSeries, config: ModelConfig, make_data: MakeData) -> ModelData:
    return make_data(bars, config)


@pytest.fixture(scope="session")
def trained(config: ModelConfig, data: ModelData) -> TrainedModel:
    return train_supervised(config, data)
