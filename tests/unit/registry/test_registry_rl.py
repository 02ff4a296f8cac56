"""An SB3 (PPO) model through the registry: a few hundred timesteps, logged, registered,
loaded back by alias; the loaded policy and the pyfunc give the trained policy's targets."""

from __future__ import annotations

import numpy as np
from registry_support import FEATURES, SPLITS, model_data

from tradewind.config.features import FeatureSpec
from tradewind.config.models import ModelConfig
from tradewind.registry import (
    Tracking,
    load_policy,
    load_pyfunc,
    log_trained,
    mlflow_sink,
    promote,
    show_model,
    training_run,
)


def test_ppo_model_round_trips_through_the_registry(
    tracking: Tracking, feature_spec: FeatureSpec
) -> None:
    from tradewind.pipelines.train import example_observations
    from tradewind.rl.train import train_rl

    cfg = ModelConfig.model_validate(
        {
            "name": "ppo-test",
            "instrument": "EUR_USD",
            "timeframe": "H1",
            "features": str(FEATURES),
            "window": 4,
            "columns": ["rsi_14", "log_return_1", "zscore_20"],
            "splits": SPLITS,
            "learner": {
                "type": "rl",
                "algo": "ppo",
                "hyperparams": {"n_steps": 64, "batch_size": 32, "n_epochs": 1},
                "timesteps": 128,
                "eval_freq": 64,
            },
            "env": {"episode_bars": 200},
            "seed": 3,
        }
    )
    data = model_data(cfg, feature_spec)
    with training_run(tracking, cfg, "our-ppo", feature_spec) as run:
        trained = train_rl(cfg, data, on_metrics=mlflow_sink(run))
        v = log_trained(trained, cfg, feature_spec, {}, run=run)
    assert trained.flavor == "sb3"
    promote(tracking, "ppo-test", v.version, "champion")
    assert show_model(tracking, "ppo-test@champion").contract["algo"] == "ppo"
    assert tracking.client().get_run(v.mlflow_run_id).data.metrics  # history was logged

    contract = trained.contract
    obs = example_observations(data, contract, rows=64)
    # vary the position state too (the model reads it)
    if contract.position_state:
        obs[:, -3] = np.linspace(-1, 1, len(obs))
    want = trained.policy.targets(obs)
    policy = load_policy(
        "models:/ppo-test@champion",
        feature_columns=cfg.columns,
        feature_spec_fingerprint=feature_spec.fingerprint,
        timeframe="H1",
        tracking=tracking,
    )
    np.testing.assert_array_equal(policy.targets(obs), want)
    pyfunc = load_pyfunc("models:/ppo-test@champion", tracking=tracking)
    np.testing.assert_array_equal(pyfunc.predict(obs), want)
    assert np.all(np.abs(want) <= 1)
