"""Helpers of the registry tests: a local MLflow store in a tmp TRADEWIND_HOME, and small
fast models to log into it.

The data are synthetic bars made in memory (no database); the models are logistic
regressions on the shipped feature config, trained in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tradewind.config import SyntheticConfig
from tradewind.config.features import FeatureSpec
from tradewind.config.models import ModelConfig
from tradewind.domain import PriceSide
from tradewind.features import build_features
from tradewind.marketdata.synthetic import generate_bars
from tradewind.pipelines.synthetic import side_series
from tradewind.policy import ModelData, TrainedModel
from tradewind.registry import Tracking, configure, resolve_tracking

REPO = Path(__file__).resolve().parents[3]
FEATURES = REPO / "configs" / "features" / "default.yaml"
SPLITS = {
    "train": {"start": "2024-01-01T00:00:00Z", "end": "2024-02-20T00:00:00Z"},
    "validation": {"start": "2024-02-20T00:00:00Z", "end": "2024-03-10T00:00:00Z"},
    "test": {"start": "2024-03-10T00:00:00Z", "end": "2024-04-01T00:00:00Z"},
}
SYNTH = SyntheticConfig(instrument="EUR_USD", bars=1500, seed=3)


def model_config(name: str = "logreg-test", **learner: object) -> ModelConfig:
    """A small supervised config on the shipped features (absolute path: any cwd works)."""
    return ModelConfig.model_validate(
        {
            "name": name,
            "instrument": "EUR_USD",
            "timeframe": "H1",
            "features": str(FEATURES),
            "window": 5,
            "columns": ["rsi_14", "adx_14", "macd", "log_return_1", "zscore_20", "tod_sin"],
            "splits": SPLITS,
            "learner": {
                "type": "supervised",
                "estimator": "logistic_regression",
                "params": {"C": 0.1},
                "cv": {"n_splits": 3},
                **learner,
            },
            "seed": 1,
        }
    )


def model_data(cfg: ModelConfig, spec: FeatureSpec) -> ModelData:
    bars = side_series(generate_bars(SYNTH), PriceSide.MID)
    frame = build_features(bars, spec)
    return ModelData.build(bars, frame.columns, frame.values, spec.fingerprint, cfg)


def local_tracking(home: Path) -> Tracking:
    """The embedded store under ``home``, whatever MLFLOW_* the environment holds."""
    return configure(resolve_tracking(home, environ={}))


@dataclass
class Trained:
    cfg: ModelConfig
    spec: FeatureSpec
    data: ModelData
    model: TrainedModel


def observations(t: Trained, rows: int = 200) -> np.ndarray:
    """Real observations of the validation split, as ObservationBuilder makes them."""
    from tradewind.pipelines.train import example_observations

    obs = example_observations(t.data, t.model.contract, rows=rows)
    assert len(obs) == rows
    assert np.isfinite(obs).all()
    return obs
