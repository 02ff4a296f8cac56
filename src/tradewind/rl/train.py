"""Train a stable-baselines3 agent on the trading environment: ``train_rl(cfg, data)``.

1. The contract: columns, window, the scaler fitted on the training split only, the action
   map, fingerprints and the training range (``rl.contract.build_contract``).
2. ``n_envs`` training environments over the training split (``DummyVecEnv``: one process;
   the environment steps in microseconds, so worker processes would only add IPC), seeded
   ``seed + i``, under ``VecMonitor`` (episode stats for the logger) and, with
   ``vec_normalize``, ``VecNormalize`` on observations only (statistics from the training
   environments alone; the validation rollouts use them frozen).
3. The algorithm with the recipe's network and hyperparameters (the config's on top),
   ``seed=cfg.seed``; callbacks: SB3's logger values to the sink, validation every
   ``eval_freq`` timesteps with early stopping.
4. The best validated parameters (and their statistics) are restored; the final contract
   carries the statistics; ``val_*`` and ``test_*`` metrics come from rollouts over the
   validation and test splits.

Same config and data, same parameters: everything random is seeded from ``cfg.seed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor, VecNormalize

from tradewind.config.models import ModelConfig, RLLearner
from tradewind.domain.progress import Progress
from tradewind.policy import MetricSink, ModelContract, ModelData, TrainedModel
from tradewind.rl.callbacks import (
    MetricsCallback,
    ValidationCallback,
    current_normaliser,
    sink_into,
)
from tradewind.rl.contract import build_contract, with_normaliser
from tradewind.rl.env import check_env_costs, make_env
from tradewind.rl.policy import SB3Policy
from tradewind.rl.progress import ProgressCallback
from tradewind.rl.recipes import (
    ALGOS,
    fill_extractor_kwargs,
    flat_params,
    load_recipe,
    materialise,
    resolve_hyperparams,
)
from tradewind.rl.rollout import rollout, rollout_metrics


def training_envs(
    cfg: ModelConfig, data: ModelData, contract: ModelContract, learner: RLLearner
) -> VecEnv:
    """The vectorised training environments, monitored and (optionally) normalised."""
    factories: list[Callable[[], gym.Env[Any, Any]]] = [
        make_env(data, contract, cfg.env, "train", "train", cfg.seed, rank)
        for rank in range(learner.n_envs)
    ]
    vec: VecEnv = VecMonitor(DummyVecEnv(factories))
    if learner.vec_normalize:
        vec = VecNormalize(vec, norm_obs=True, norm_reward=False)
    return vec


def train_rl(
    cfg: ModelConfig,
    data: ModelData,
    *,
    timesteps: int | None = None,
    on_metrics: MetricSink | None = None,
    progress: Progress | None = None,
    periods_per_year: float | None = None,
) -> TrainedModel:
    """Train ``cfg``'s RL learner on ``data`` (``timesteps`` overrides the config's).
    Validation and test Sharpe are annualised on ``periods_per_year``, the instrument's bars
    a year (the training pipeline looks it up as backtests do; default: the FX year)."""
    learner = cfg.learner
    if not isinstance(learner, RLLearner):
        raise TypeError(f"config {cfg.name} has a {learner.type} learner; train_rl needs rl")
    check_env_costs(cfg.env.costs, data.pip_location)
    recipe = load_recipe(learner.recipe)
    hyper = resolve_hyperparams(recipe, learner.algo, learner.hyperparams)
    contract = build_contract(cfg, data)
    total = int(timesteps if timesteps is not None else learner.timesteps)
    ppy = cfg.timeframe.periods_per_year if periods_per_year is None else periods_per_year
    history: list[tuple[int, dict[str, float]]] = []
    sink = sink_into(history, on_metrics)

    env = training_envs(cfg, data, contract, learner)
    n_actions = env.action_space.shape[0] if env.action_space.shape else 1
    kwargs: dict[str, Any] = materialise(hyper, n_actions)
    kwargs["policy_kwargs"] = fill_extractor_kwargs(
        hyper["policy_kwargs"], cfg.window, len(contract.feature_columns)
    )
    algo_cls = ALGOS[learner.algo.value]
    model = algo_cls(recipe.policy, env, seed=cfg.seed, device=learner.device, verbose=0, **kwargs)
    validation = ValidationCallback(
        data,
        contract,
        cfg.env,
        ppy,
        learner.eval_freq,
        sink,
        learner.early_stop_patience,
    )
    callbacks: list[BaseCallback] = [MetricsCallback(sink), validation]
    if progress is not None:
        callbacks.append(ProgressCallback(progress, total))
    model.learn(total_timesteps=total, callback=CallbackList(callbacks))

    norm = current_normaliser(model.get_vec_normalize_env())
    if validation.best_params is not None:
        model.set_parameters(validation.best_params, exact_match=True, device=learner.device)
        norm = validation.best_normaliser
    contract = with_normaliser(contract, norm)
    policy = SB3Policy(model, contract)
    metrics: dict[str, float] = {}
    for split, prefix in (("validation", "val"), ("test", "test")):
        r = rollout(policy, data, contract, cfg.env, split)
        metrics.update({f"{prefix}_{k}": v for k, v in rollout_metrics(r, ppy).items()})
    if validation.best_step is not None:
        metrics["best_step"] = float(validation.best_step)
    metrics["timesteps_trained"] = float(model.num_timesteps)
    env.close()
    params: dict[str, str | int | float | bool] = {
        "algo": learner.algo.value,
        "recipe": recipe.name,
        "policy": recipe.policy,
        "timesteps": total,
        "n_envs": learner.n_envs,
        "seed": cfg.seed,
        "window": cfg.window,
        "vec_normalize": learner.vec_normalize,
        **flat_params(hyper),
    }
    return TrainedModel(contract, policy, "sb3", params, metrics, history)
