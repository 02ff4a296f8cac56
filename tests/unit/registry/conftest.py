"""Fixtures of the registry tests (helpers in registry_support)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from registry_support import FEATURES, Trained, local_tracking, model_config, model_data

from tradewind.config import load_config
from tradewind.config.features import FeatureSpec
from tradewind.registry import Tracking


@pytest.fixture(scope="session")
def feature_spec() -> FeatureSpec:
    return load_config(FEATURES, FeatureSpec)


@pytest.fixture(scope="session")
def trained(feature_spec: FeatureSpec) -> Trained:
    from tradewind.ml.train import train_supervised

    cfg = model_config()
    data = model_data(cfg, feature_spec)
    return Trained(cfg, feature_spec, data, train_supervised(cfg, data))


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracking]:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    return local_tracking(tmp_path / "home")
