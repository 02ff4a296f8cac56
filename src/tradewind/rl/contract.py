"""The contract an RL model is trained under, built from the run config and the data.

The feature scaler is fitted on the training split's rows only (warm-up rows with NaN left
out), so nothing of the validation or test periods leaks into the observations. RL models
always see their position state (position, unrealised P&L, time in position): costs make the
right action depend on what is held.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from tradewind.config.models import ActionKind, ModelConfig, RLLearner
from tradewind.policy import ActionMap, FeatureScaler, ModelContract, ModelData, ObsNormaliser
from tradewind.rl.env import discrete_targets


def _iso(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1_000_000, tz=UTC).isoformat()


def action_map(cfg: ModelConfig) -> ActionMap:
    """Discrete: flat / long sizes / short sizes (no shorts unless allowed); else continuous."""
    env = cfg.env
    if env.actions.kind is ActionKind.DISCRETE:
        return ActionMap(kind="discrete", targets=discrete_targets(env.actions, env.allow_short))
    return ActionMap(kind="continuous")


def build_contract(cfg: ModelConfig, data: ModelData) -> ModelContract:
    """The contract of an RL model trained by ``cfg`` on ``data`` (no obs statistics yet)."""
    if not isinstance(cfg.learner, RLLearner):
        raise TypeError(f"config {cfg.name} has a {cfg.learner.type} learner, not rl")
    train = data.rows["train"]
    ts = data.bars.ts[train]
    return ModelContract(
        kind="rl",
        algo=cfg.learner.algo.value,
        instrument=cfg.instrument,
        timeframe=cfg.timeframe,
        side=cfg.side,
        feature_spec_fingerprint=data.feature_spec_fingerprint,
        feature_columns=data.columns,
        window=cfg.window,
        position_state=True,
        time_scale=cfg.env.time_scale,
        max_units=cfg.env.max_units,
        min_hold_bars=cfg.env.min_hold_bars,
        scaler=FeatureScaler.fit(data.split_values("train")),
        actions=action_map(cfg),
        config_fingerprint=cfg.fingerprint,
        train_start=_iso(int(ts[0])),
        train_end=_iso(int(ts[-1])),
    )


def obs_normaliser(mean: np.ndarray, var: np.ndarray, clip: float, epsilon: float) -> ObsNormaliser:
    """VecNormalize's running observation statistics as the contract stores them."""
    return ObsNormaliser(
        mean=tuple(float(x) for x in np.asarray(mean, dtype=np.float64).reshape(-1)),
        var=tuple(float(x) for x in np.asarray(var, dtype=np.float64).reshape(-1)),
        clip=float(clip),
        epsilon=float(epsilon),
    )


def with_normaliser(contract: ModelContract, norm: ObsNormaliser | None) -> ModelContract:
    """``contract`` with ``norm`` as its observation statistics (validated again)."""
    return ModelContract.model_validate({**contract.model_dump(), "obs_normaliser": norm})
