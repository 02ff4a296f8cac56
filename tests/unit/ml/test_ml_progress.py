"""Supervised training says how far it got: one unit per cross-validation fold, one for the
final fit; `tradewind train` sizes its progress the same way."""

from __future__ import annotations

from tradewind.cli.train import training_steps
from tradewind.config.models import ModelConfig
from tradewind.ml import train_supervised
from tradewind.policy import ModelData


def test_training_reports_each_fold_then_the_final_fit(
    config: ModelConfig, data: ModelData
) -> None:
    seen: list[tuple[int, int]] = []
    trained = train_supervised(config, data, progress=lambda d, t: seen.append((d, t)))
    assert config.learner.cv.n_splits == 3  # type: ignore[union-attr]
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert len(trained.history) == 3


def test_the_cli_sizes_a_supervised_training_by_its_fits(config: ModelConfig) -> None:
    assert training_steps(config, None) == 4
    assert training_steps(config, 10_000) == 4  # --timesteps is for RL only
