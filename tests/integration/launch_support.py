"""Models for the launch tests: small logistic regressions on synthetic EUR_USD M1 bars with
the live tests' features (``tests/data/live/features.yaml``), registered in an MLflow store,
and a live config whose deployment runs one of them (``models:/NAME@ALIAS``).

A version trained on another feature config (``configs/features/default.yaml``) is the
model whose contract does not match the deployment: a launch must refuse it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from live_support import live_config

from tradewind.config import SyntheticConfig, load_config
from tradewind.config.features import FeatureSpec
from tradewind.config.models import ModelConfig
from tradewind.domain import PriceSide
from tradewind.registry import Tracking, log_trained, promote, training_run

REPO = Path(__file__).resolve().parents[2]
LIVE_FEATURES = REPO / "tests" / "data" / "live" / "features.yaml"
OTHER_FEATURES = REPO / "configs" / "features" / "default.yaml"
MODEL = "launch-logreg"
DEPLOYMENT = "model-eur"
# 1,500 M1 bars from Monday 2024-01-01 00:00 UTC: 25 hours
SPLITS = {
    "train": {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T16:00:00Z"},
    "validation": {"start": "2024-01-01T16:00:00Z", "end": "2024-01-01T20:00:00Z"},
    "test": {"start": "2024-01-01T20:00:00Z", "end": "2024-01-02T02:00:00Z"},
}


def model_config(*, matching: bool = True, c: float = 0.1) -> ModelConfig:
    features = LIVE_FEATURES if matching else OTHER_FEATURES
    columns = ["log_return_1", "sma_3"] if matching else ["rsi_14", "log_return_1"]
    return ModelConfig.model_validate(
        {
            "name": MODEL,
            "instrument": "EUR_USD",
            "timeframe": "M1",
            "features": str(features),
            "window": 2,
            "columns": columns,
            "splits": SPLITS,
            "learner": {
                "type": "supervised",
                "estimator": "logistic_regression",
                "params": {"C": c},
                "cv": {"n_splits": 3},
            },
            "seed": 1,
        }
    )


def register(tracking: Tracking, *, matching: bool = True, c: float = 0.1) -> str:
    """Train a version in memory and register it; returns ``models:/NAME/VERSION``."""
    from tradewind.features import build_features
    from tradewind.marketdata.synthetic import generate_bars
    from tradewind.ml.train import train_supervised
    from tradewind.pipelines.synthetic import side_series
    from tradewind.policy import ModelData

    cfg = model_config(matching=matching, c=c)
    spec = load_config(cfg.features, FeatureSpec)
    bars = side_series(
        generate_bars(SyntheticConfig(timeframe="M1", bars=1500, seed=3)), PriceSide.MID
    )
    frame = build_features(bars, spec)
    data = ModelData.build(bars, frame.columns, frame.values, spec.fingerprint, cfg)
    trained = train_supervised(cfg, data)
    with training_run(tracking, cfg, f"launch-{c}-{matching}", spec) as run:
        version = log_trained(trained, cfg, spec, {}, run=run)
    return version.model_uri


@dataclass(frozen=True)
class Registry:
    tracking: Tracking
    v1: str  # matching
    v2: str  # matching, another C
    bad: str  # trained on other features: its contract does not match the deployment


_SHARED: list[Registry] = []


def shared_registry(root: Path) -> Registry:
    """One registry per test process (training and logging three versions takes a while),
    in an embedded MLflow store under ``root`` on first use."""
    if not _SHARED:
        from tradewind.registry import configure, resolve_tracking

        _SHARED.append(make_registry(configure(resolve_tracking(root, environ={}))))
    return _SHARED[0]


def make_registry(tracking: Tracking) -> Registry:
    """Three versions of ``MODEL``; ``champion`` is version 1."""
    r = Registry(
        tracking, register(tracking), register(tracking, c=1.0), register(tracking, matching=False)
    )
    promote(tracking, MODEL, r.v1.rsplit("/", 1)[1], "champion")
    return r


def model_live_config(tmp: Path, model: str = f"models:/{MODEL}@champion", **top: object) -> Path:
    """``live_support.live_config`` with its deployment (``DEPLOYMENT``) running ``model``."""
    path = live_config(tmp, **top)  # type: ignore[arg-type]
    body = yaml.safe_load(path.read_text(encoding="utf-8"))
    dep = body["deployments"][0]
    dep["name"] = DEPLOYMENT
    # whole steps of a fifth of max_units: fewer, larger orders than every wiggle of the model
    dep["strategy"] = {"model": model, "max_units": 1000, "rebalance_threshold": 0.2}
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path
