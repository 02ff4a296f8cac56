"""Training: every algorithm trains briefly and hands back a TrainedModel whose policy
round-trips through save/load; seeded determinism; validation, early stopping, metrics;
recipes and hyperparameter errors; the shipped configs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from rl_support import model_data

from tradewind.config import load_config
from tradewind.config.models import ModelConfig, SupervisedLearner
from tradewind.domain.errors import Unsupported
from tradewind.policy import Policy, TrainedModel, action_to_target
from tradewind.rl import (
    build_contract,
    load_recipe,
    load_sb3_policy,
    resolve_hyperparams,
    rollout,
    train_rl,
)
from tradewind.rl.env import TradingEnv
from tradewind.rl.recipes import Recipe

OFF_POLICY = {"learning_starts": 64, "buffer_size": 2_000, "batch_size": 32}
CASES = [
    ("ppo", "discrete", "mlp_small", {"n_steps": 128, "batch_size": 64, "n_epochs": 2}),
    ("maskable_ppo", "discrete", "mlp_small", {"n_steps": 128, "batch_size": 64}),
    ("a2c", "continuous", "window_conv", {}),
    ("dqn", "discrete", "window_conv", OFF_POLICY),
    ("sac", "continuous", "mlp_small", OFF_POLICY),
    ("td3", "continuous", "mlp_small", OFF_POLICY),
]


def observations(model: TrainedModel, data, cfg, n: int = 40) -> np.ndarray:
    env = TradingEnv(data, model.contract, cfg.env, "test", "eval")
    obs = [env.reset()[0]]
    for a in np.random.default_rng(0).integers(0, 2, n - 1):
        obs.append(env.step_target(float(a))[0])
    return np.stack(obs)


@pytest.mark.parametrize(("algo", "kind", "recipe", "hyper"), CASES)
def test_every_algo_trains_and_round_trips(
    data, make_cfg, tmp_path: Path, algo, kind, recipe, hyper
) -> None:
    cfg = make_cfg(
        learner={"algo": algo, "recipe": recipe, "hyperparams": hyper, "eval_freq": 128},
        env={"actions": {"kind": kind}},
    )
    model = train_rl(cfg, data, timesteps=256)
    assert isinstance(model, TrainedModel)
    assert isinstance(model.policy, Policy)
    assert model.flavor == "sb3"
    assert model.contract.algo == algo
    assert model.contract.obs_normaliser is not None
    assert len(model.contract.obs_normaliser.mean) == model.contract.obs_dim
    for key in ("val_total_return", "val_sharpe", "test_max_drawdown", "test_trades"):
        assert key in model.metrics
    assert model.params["algo"] == algo
    assert model.params["recipe"] == recipe
    assert model.params["timesteps"] == 256
    assert model.params["window"] == 8
    assert any("val_total_return" in m for _, m in model.history)
    obs = observations(model, data, cfg)
    before = model.policy.targets(obs)
    assert before.shape == (len(obs),)
    # the fast path equals SB3's own predict
    reference, _ = model.policy.model.predict(
        model.policy.builder.normalise(obs), deterministic=True
    )
    np.testing.assert_array_equal(before, action_to_target(model.contract.actions, reference))
    assert np.all(np.abs(before) <= 1)
    model.policy.save(tmp_path)
    loaded = load_sb3_policy(tmp_path, model.contract)
    np.testing.assert_array_equal(loaded.targets(obs), before)


def test_saved_custom_extractor_loads_in_a_fresh_process(data, make_cfg, tmp_path) -> None:
    small = {"n_steps": 64, "batch_size": 64}
    cfg = make_cfg(learner={"recipe": "window_conv", "hyperparams": small})
    model = train_rl(cfg, data, timesteps=64)
    obs = observations(model, data, cfg, n=5)
    model.policy.save(tmp_path)
    (tmp_path / "contract.json").write_text(model.contract.model_dump_json())
    np.save(tmp_path / "obs.npy", obs)
    script = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from tradewind.policy import ModelContract\n"
        "from tradewind.rl.policy import load_sb3_policy\n"
        "d = Path(sys.argv[1])\n"
        "c = ModelContract.model_validate_json((d / 'contract.json').read_text())\n"
        "np.save(d / 'out.npy', load_sb3_policy(d, c).targets(np.load(d / 'obs.npy')))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd="/")
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), model.policy.targets(obs))


def params_of(model: TrainedModel) -> dict[str, torch.Tensor]:
    return model.policy.model.policy.state_dict()  # type: ignore[attr-defined]


def test_same_seed_same_parameters(data, make_cfg) -> None:
    small = {"n_steps": 64, "batch_size": 64}
    cfg = make_cfg(learner={"recipe": "mlp_small", "hyperparams": small, "n_envs": 2})
    a, b = (train_rl(cfg, data, timesteps=256) for _ in range(2))
    pa, pb = params_of(a), params_of(b)
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert a.contract == b.contract
    assert a.metrics == b.metrics
    c = train_rl(cfg.model_copy(update={"seed": 1}), data, timesteps=256)
    assert not all(torch.equal(pa[k], params_of(c)[k]) for k in pa)


def test_validation_keeps_the_best_and_stops_early(data, make_cfg) -> None:
    seen: list[tuple[int, dict[str, float]]] = []
    cfg = make_cfg(
        learner={
            "recipe": "mlp_small",
            "hyperparams": {"n_steps": 32, "batch_size": 32, "learning_rate": 0.05},
            "eval_freq": 32,
            "early_stop_patience": 2,
        }
    )
    model = train_rl(cfg, data, timesteps=2_000, on_metrics=lambda m, s: seen.append((s, dict(m))))
    assert seen == model.history
    vals = [(s, m["val_total_return"]) for s, m in seen if "val_total_return" in m]
    best_step, best = max(vals, key=lambda x: (x[1], -x[0]))
    assert model.metrics["timesteps_trained"] < 2_000  # stopped early
    assert vals[-1][0] - best_step == 2 * 32  # two evaluations without improvement
    assert model.metrics["best_step"] == best_step
    assert model.metrics["val_total_return"] == pytest.approx(best, abs=1e-12)
    keys = set().union(*(m for _, m in seen))
    assert {"rollout/ep_rew_mean", "time/fps", "train/value_loss"} <= keys


def test_rollout_batches_policies_without_position_state(data, contract, cfg) -> None:
    calls = []

    class Momentum:
        def __init__(self, c):
            self.contract = c

        def targets(self, obs):
            calls.append(len(obs))
            return np.sign(obs[:, -1 - (3 if self.contract.position_state else 0)]).astype(float)

    r1 = rollout(Momentum(contract), data, contract, cfg.env, "validation")
    stateless = contract.model_copy(update={"position_state": False})
    r2 = rollout(Momentum(stateless), data, stateless, cfg.env, "validation")
    assert len(calls) == len(r1.equity) + 1
    assert calls[-1] == len(r2.equity)
    np.testing.assert_array_equal(r1.equity, r2.equity)
    np.testing.assert_array_equal(r1.targets, r2.targets)
    assert set(np.unique(r1.actions)) <= {0.0, 1.0, 2.0}


def test_hyperparam_and_recipe_errors(data, make_cfg, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"unknown ppo hyperparams \['buffer_size', 'n_step'\]"):
        resolve_hyperparams(Recipe(), "ppo", {"n_step": 64, "buffer_size": 10})
    with pytest.raises(ValueError, match=r"\['seed'\] are set by the trainer"):
        resolve_hyperparams(Recipe(), "dqn", {"seed": 3})
    with pytest.raises(ValueError, match=r"not a torch\.nn activation"):
        resolve_hyperparams(Recipe(), "a2c", {"policy_kwargs": {"activation_fn": "nope"}})
    resolved = resolve_hyperparams(
        load_recipe("mlp_small"), "td3", {"policy_kwargs": {"activation_fn": "relu"}}
    )
    assert resolved["policy_kwargs"] == {"net_arch": [64, 64], "activation_fn": torch.nn.ReLU}
    with pytest.raises(LookupError, match=r"unknown recipe 'nope'.*mlp_small"):
        load_recipe("nope")
    bad = tmp_path / "bad.py"
    bad.write_text("RECIPE = 3\n")
    with pytest.raises(LookupError, match=r"must be a tradewind\.rl\.recipes\.Recipe"):
        load_recipe(str(bad))
    with pytest.raises(ValueError, match="n_step"):
        train_rl(make_cfg(learner={"hyperparams": {"n_step": 8}}), data)
    sup = make_cfg().model_copy(update={"learner": SupervisedLearner(estimator="random_forest")})
    with pytest.raises(TypeError, match="supervised"):
        train_rl(sup, data)
    costs = {"spread": "data"}
    with pytest.raises(Unsupported, match="spread"):
        train_rl(make_cfg(env={"costs": costs}), data)


@pytest.mark.parametrize("algo", ["ppo", "maskable_ppo", "a2c", "dqn", "sac", "td3"])
def test_shipped_configs_fit_the_demo_data(algo, spec, demo_bars) -> None:
    cfg = load_config(f"configs/models/{algo}_eurusd_h1.yaml", ModelConfig)
    assert cfg.learner.algo == algo
    assert cfg.window >= 20
    data = model_data(demo_bars, spec, cfg)
    sizes = {k: s.stop - s.start for k, s in data.rows.items()}
    assert sizes["train"] + sizes["validation"] + sizes["test"] == 5000
    assert 0.55 < sizes["train"] / 5000 < 0.65
    assert min(sizes.values()) > 900
    resolve_hyperparams(load_recipe(cfg.learner.recipe), algo, cfg.learner.hyperparams)
    TradingEnv(data, build_contract(cfg, data), cfg.env, "test")


def test_maskable_ppo_never_picks_a_masked_action(data, make_cfg) -> None:
    """With min_hold_bars, plain PPO's early changes are refused by the environment (counted
    as invalid); MaskablePPO sees the masks and never proposes one, in training or after."""
    from sb3_contrib.common.maskable.utils import get_action_masks

    cfg = make_cfg(
        learner={"algo": "maskable_ppo", "hyperparams": {"n_steps": 128, "batch_size": 64}},
        env={"min_hold_bars": 4},
    )
    model = train_rl(cfg, data, timesteps=512)
    sb3 = model.policy.model
    env = TradingEnv(data, model.contract, cfg.env, "validation", "eval")
    obs, info = env.reset()
    builder = model.policy.builder
    proposed = 0
    for _ in range(200):
        masks = env.action_masks()
        action, _ = sb3.predict(builder.normalise(obs), deterministic=False, action_masks=masks)
        assert masks[int(action)], "a masked action was chosen"
        proposed += int(env.action_masks().sum() < len(masks))
        obs, _, term, trunc, info = env.step(int(action))
        if term or trunc:
            break
    assert info["invalid_actions"] == 0
    assert proposed > 0, "the mask never bit: a weak test"
    assert get_action_masks(sb3.get_env()).shape[1] == 3  # the training env exposes masks


def test_maskable_ppo_uses_its_masks_after_training(data, make_cfg) -> None:
    """The trained MaskablePPO behind the ``Policy`` port: given masks it picks only allowed
    actions (one allowed action: always that one); its evaluation rollouts pass the
    environment's masks, so no decision is refused; without masks it predicts as SB3 does."""
    cfg = make_cfg(
        learner={"algo": "maskable_ppo", "hyperparams": {"n_steps": 128, "batch_size": 64}},
        env={"min_hold_bars": 4},
    )
    model = train_rl(cfg, data, timesteps=512)
    policy = model.policy
    assert policy.uses_action_masks
    obs = observations(model, data, cfg)
    targets = model.contract.actions.targets
    for k in range(len(targets)):
        only = np.zeros((len(obs), len(targets)), dtype=bool)
        only[:, k] = True
        np.testing.assert_array_equal(
            policy.targets(obs, action_masks=only), np.full(len(obs), targets[k])
        )
    assert model.metrics["val_invalid_actions"] == 0.0
    assert model.metrics["test_invalid_actions"] == 0.0
    r = rollout(policy, data, model.contract, cfg.env, "test")
    assert r.invalid_actions == 0
    assert len(set(r.targets.tolist())) > 1, "the model never changed its mind: a weak test"
    reference, _ = policy.model.predict(policy.builder.normalise(obs), deterministic=True)
    np.testing.assert_array_equal(
        policy.targets(obs), action_to_target(model.contract.actions, reference)
    )


def test_models_without_masks_ignore_them(data, make_cfg) -> None:
    cfg = make_cfg(learner={"algo": "ppo", "hyperparams": {"n_steps": 128, "batch_size": 64}})
    model = train_rl(cfg, data, timesteps=256)
    assert not model.policy.uses_action_masks
    obs = observations(model, data, cfg, n=5)
    masks = np.zeros((5, 3), dtype=bool)
    np.testing.assert_array_equal(
        model.policy.targets(obs, action_masks=masks), model.policy.targets(obs)
    )
