"""Small model configs the integration tests train: a logistic regression on the synthetic
EUR_USD H1 bars from 2024-01-01 (a second or two), and a PPO agent of a few hundred steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tradewind.config.models import EnvConfig, ModelConfig, RLLearner, Splits

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


def small_ppo(
    name: str,
    instrument: str,
    timeframe: str,
    splits: Splits,
    costs: dict[str, Any],
    *,
    seed: int,
    **env: Any,
) -> ModelConfig:
    """A PPO model ``name`` that trains in seconds: a window of 6 bars, 512 steps with an
    evaluation every 256 and rollouts of 128, no drawdown stop; ``env`` adds to its
    environment (``episode_bars``, ``min_hold_bars``, ``max_units``...)."""
    return ModelConfig(
        name=name,
        instrument=instrument,
        timeframe=timeframe,
        window=6,
        splits=splits,
        learner=RLLearner(algo="ppo", timesteps=512, eval_freq=256, hyperparams={"n_steps": 128}),
        env=EnvConfig(costs=costs, max_drawdown=1.0, **env),
        seed=seed,
    )
