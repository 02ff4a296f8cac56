"""Training callbacks: validation with early stopping, and SB3's logger values to a sink.

``ValidationCallback`` evaluates the current model every ``eval_freq`` timesteps on the
validation split (``rollout``: deterministic, the whole split) with the VecNormalize
statistics of that moment, frozen (the rollout never updates them). It sends ``val_*``
metrics to the sink, keeps a copy of the best parameters and their statistics by the chosen
metric, and stops training after ``patience`` evaluations without improvement.

``MetricsCallback`` adds a writer to the model's SB3 logger for the run, so every dump
(``rollout/ep_rew_mean``, ``train/*`` losses, ``time/fps``, ...) reaches the sink with the
timestep it was dumped at.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecNormalize

from tradewind.config.models import EnvConfig
from tradewind.policy import MetricSink, ModelContract, ModelData, ObsNormaliser
from tradewind.rl.contract import obs_normaliser, with_normaliser
from tradewind.rl.policy import SB3Policy
from tradewind.rl.rollout import rollout, rollout_metrics

Score = Literal["total_return", "sharpe"]


def current_normaliser(vec: VecNormalize | None) -> ObsNormaliser | None:
    """VecNormalize's observation statistics now (None without VecNormalize)."""
    if vec is None or not vec.norm_obs:
        return None
    rms = vec.obs_rms
    if not isinstance(rms, RunningMeanStd):
        raise TypeError("VecNormalize of a dict observation space: the policy expects a vector")
    return obs_normaliser(rms.mean, rms.var, vec.clip_obs, vec.epsilon)


class ValidationCallback(BaseCallback):
    def __init__(
        self,
        data: ModelData,
        contract: ModelContract,
        env_cfg: EnvConfig,
        periods_per_year: float,
        eval_freq: int,
        sink: MetricSink | None = None,
        patience: int | None = None,
        score: Score = "total_return",
    ) -> None:
        super().__init__()
        self.data, self.contract, self.env_cfg = data, contract, env_cfg
        self.ppy, self.eval_freq, self.sink = periods_per_year, eval_freq, sink
        self.patience, self.score = patience, score
        self.best_score = -math.inf
        self.best_step: int | None = None
        self.best_params: dict[str, Any] | None = None
        self.best_normaliser: ObsNormaliser | None = None
        self.evaluations = 0
        self.stale = 0
        self._next = eval_freq

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next:
            return True
        self._next = (self.num_timesteps // self.eval_freq + 1) * self.eval_freq
        return self.evaluate()

    def evaluate(self) -> bool:
        """Evaluate now; False when training should stop (patience exhausted)."""
        norm = current_normaliser(self.model.get_vec_normalize_env())
        contract = with_normaliser(self.contract, norm)
        policy = SB3Policy(self.model, contract)
        r = rollout(policy, self.data, contract, self.env_cfg, "validation")
        metrics = {f"val_{k}": v for k, v in rollout_metrics(r, self.ppy).items()}
        self.evaluations += 1
        if self.sink is not None:
            self.sink(metrics, self.num_timesteps)
        value = metrics[f"val_{self.score}"]
        value = value if np.isfinite(value) else -math.inf
        if self.best_params is None or value > self.best_score:
            self.best_score, self.best_step, self.stale = value, self.num_timesteps, 0
            self.best_params = copy.deepcopy(self.model.get_parameters())
            self.best_normaliser = norm
        else:
            self.stale += 1
        return self.patience is None or self.stale < self.patience


class _SinkWriter(KVWriter):
    def __init__(self, sink: MetricSink) -> None:
        self.sink = sink

    def write(
        self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0
    ) -> None:
        values = {
            k: float(v)
            for k, v in key_values.items()
            if isinstance(v, int | float | np.number) and not isinstance(v, bool)
        }
        if values:
            self.sink(values, int(step))

    def close(self) -> None:
        pass


class MetricsCallback(BaseCallback):
    """Forward SB3's logged values (numbers only) to ``sink`` for the duration of training."""

    def __init__(self, sink: MetricSink) -> None:
        super().__init__()
        self._writer = _SinkWriter(sink)

    def _on_training_start(self) -> None:
        self.model.logger.output_formats.append(self._writer)

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        formats = self.model.logger.output_formats
        if self._writer in formats:
            formats.remove(self._writer)


def sink_into(history: list[tuple[int, dict[str, float]]], *sinks: MetricSink | None) -> MetricSink:
    """A sink that appends to ``history`` and forwards to each of ``sinks``."""

    def sink(values: Mapping[str, float], step: int) -> None:
        history.append((step, dict(values)))
        for s in sinks:
            if s is not None:
                s(values, step)

    return sink
