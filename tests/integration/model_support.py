"""A small supervised model config the integration tests train (logistic regression on the
synthetic EUR_USD H1 bars from 2024-01-01; trains in a second or two)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def small_logreg(name: str) -> dict[str, Any]:
    """The ``kind: model`` config (as plain data) of a small logistic regression ``name``."""
    return {
        "kind": "model",
        "name": name,
        "instrument": "EUR_USD",
        "timeframe": "H1",
        "features": str(REPO / "configs" / "features" / "default.yaml"),
        "window": 5,
        "columns": ["rsi_14", "adx_14", "macd", "log_return_1", "zscore_20", "tod_sin"],
        "splits": {
            "train": {"start": "2024-01-01T00:00:00Z", "end": "2024-02-20T00:00:00Z"},
            "validation": {"start": "2024-02-20T00:00:00Z", "end": "2024-03-10T00:00:00Z"},
            "test": {"start": "2024-03-10T00:00:00Z", "end": "2024-04-01T00:00:00Z"},
        },
        "learner": {
            "type": "supervised",
            "estimator": "logistic_regression",
            "params": {"C": 0.1},
            "cv": {"n_splits": 3},
        },
        "seed": 1,
    }
