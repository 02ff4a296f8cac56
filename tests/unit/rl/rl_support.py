"""Shared helpers and fixtures of the RL tests (imported by ``conftest.py`` and the tests):
small synthetic EUR_USD H1 data with the default features, a model config over it, and one
torch thread (the machine is shared)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pytest
import torch

from tradewind.config import load_config
from tradewind.config.features import FeatureSpec
from tradewind.config.models import EnvConfig, ModelConfig, RLLearner, Split, Splits
from tradewind.config.synthetic import SyntheticConfig
from tradewind.domain.series import BarSeries
from tradewind.features import build_features
from tradewind.marketdata.synthetic import generate_bars
from tradewind.policy import ModelData
from tradewind.rl.contract import build_contract

BARS = 1200  # 2024-01-01 .. 2024-03-13 (weekends skipped)
SPLITS = Splits(
    train=Split(start=datetime(2024, 1, 1), end=datetime(2024, 2, 12)),
    validation=Split(start=datetime(2024, 2, 12), end=datetime(2024, 2, 26)),
    test=Split(start=datetime(2024, 2, 26), end=datetime(2024, 3, 20)),
)
COSTS = {"commission_bps": 0.2, "spread": "fixed", "spread_pips": 0.8, "slippage_bps": 0.1}


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    torch.set_num_threads(1)


def series(bars: int = BARS, seed: int = 7) -> BarSeries:
    df = generate_bars(SyntheticConfig(instrument="EUR_USD", timeframe="H1", bars=bars, seed=seed))
    ts = df["ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
    cols = {c: df[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")}
    return BarSeries(ts=ts.view(np.int64), **cols)


@pytest.fixture(scope="session")
def spec() -> FeatureSpec:
    return load_config("configs/features/default.yaml", FeatureSpec)


@pytest.fixture(scope="session")
def bars() -> BarSeries:
    return series()


@pytest.fixture(scope="session")
def demo_bars() -> BarSeries:
    """The demo's data: 5000 EUR_USD H1 bars from 2024-01-01 (to 2024-10-17 07:00)."""
    return series(5000)


def model_config(**kw: Any) -> ModelConfig:
    """A PPO config over ``SPLITS`` with the demo's costs; ``env``/``learner`` as dicts merge."""
    env = {"costs": COSTS, "episode_bars": 128, **kw.pop("env", {})}
    learner = {"algo": "ppo", "timesteps": 256, "eval_freq": 128, **kw.pop("learner", {})}
    base: dict[str, Any] = {
        "name": "test-rl",
        "instrument": "EUR_USD",
        "timeframe": "H1",
        "window": 8,
        "splits": SPLITS,
        "learner": RLLearner(**learner),
        "env": EnvConfig(**env),
    }
    base.update(kw)
    return ModelConfig(**base)


def model_data(bars: BarSeries, spec: FeatureSpec, cfg: ModelConfig) -> ModelData:
    frame = build_features(bars, spec)
    return ModelData.build(bars, frame.columns, frame.values, spec.fingerprint, cfg)


@pytest.fixture
def make_cfg() -> Callable[..., ModelConfig]:
    return model_config


@pytest.fixture(scope="session")
def cfg() -> ModelConfig:
    return model_config()


@pytest.fixture(scope="session")
def data(bars: BarSeries, spec: FeatureSpec, cfg: ModelConfig) -> ModelData:
    return model_data(bars, spec, cfg)


@pytest.fixture(scope="session")
def contract(cfg: ModelConfig, data: ModelData):
    return build_contract(cfg, data)
