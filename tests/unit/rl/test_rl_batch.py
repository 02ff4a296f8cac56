"""``BatchTradingEnv`` steps N environments in one numba call; it must be ``TradingEnv``, step
for step: observations, rewards, ends and books, for every reward kind, masking and fill."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from rl_support import model_config, model_data
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from tradewind.rl.batch import BatchTradingEnv
from tradewind.rl.batch_kernel import S_EQUITY, S_UNITS
from tradewind.rl.contract import build_contract
from tradewind.rl.env import TradingEnv

CASES: list[dict[str, Any]] = [
    {},
    {"env": {"fill": "next_close"}},
    {"env": {"reward": {"kind": "drawdown_penalty", "drawdown_penalty": 2.0}}},
    {"env": {"reward": {"kind": "differential_sharpe"}}},
    {"env": {"min_hold_bars": 3}},
    {"env": {"actions": {"kind": "continuous"}}},
    {"env": {"actions": {"sizes": [0.5, 1.0]}, "allow_short": False}},
    {"env": {"max_drawdown": 0.002}},
    # orders at the instrument's unit precision: 0.3 * 1001 units rounds to 300, 0.5 to 500
    {"env": {"max_units": 1001.0, "min_hold_bars": 2}, "units_precision": 0},
    {"env": {"actions": {"kind": "continuous"}, "max_units": 10.55}, "units_precision": 1},
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: str(c.get("env", "default")))
def test_batch_equals_single_env_step_by_step(bars, spec, case) -> None:
    case = dict(case)
    precision = case.pop("units_precision", None)
    cfg = model_config(**case)
    data = replace(model_data(bars, spec, cfg), units_precision=precision)
    contract = build_contract(cfg, data)
    n = 3
    batch = BatchTradingEnv(data, contract, cfg.env, n, split="train", mode="train", seed=0)
    singles = [TradingEnv(data, contract, cfg.env, "train", "train") for _ in range(n)]
    first = singles[0].first_row
    starts = [first, first + 17, first + 40]
    obs_b = batch.reset(starts=starts)
    for i, env in enumerate(singles):
        obs, _ = env.reset(options={"start": starts[i]})
        np.testing.assert_array_equal(obs_b[i], obs)
    rng = np.random.default_rng(1)
    done = np.zeros(n, dtype=bool)
    for _ in range(150):
        targets = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0, 0.3], size=n)
        obs_b, rew_b, done_b = batch.step_targets(targets)
        for i, env in enumerate(singles):
            if done[i]:
                continue
            obs, rew, term, trunc, info = env.step_target(float(targets[i]))
            np.testing.assert_array_equal(obs_b[i], obs)
            assert rew_b[i] == rew
            assert done_b[i] == (term or trunc)
            assert batch._state[i, S_EQUITY] == info["equity"]
            assert batch._state[i, S_UNITS] == info["units"]
            if precision is not None:  # every position is on the unit grid (sums of orders)
                assert info["units"] == pytest.approx(round(info["units"], precision), abs=1e-9)
            assert batch._invalid[i] == info["invalid_actions"]
            done[i] = term or trunc
        if done.all():
            break


def test_batch_env_trains_ppo_with_auto_reset(cfg, data, contract) -> None:
    env = VecMonitor(BatchTradingEnv(data, contract, cfg.env, 8, seed=3))
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=64, n_epochs=1, seed=3, device="cpu")
    model.learn(total_timesteps=8 * 32 * 2)
    obs = env.reset()
    assert obs.shape == (8, contract.obs_dim)
    ends = 0
    for _ in range(cfg.env.episode_bars + 1):
        obs, _, dones, infos = env.step(np.zeros(8, dtype=np.int64))
        for i in np.flatnonzero(dones):
            ends += 1
            assert "terminal_observation" in infos[i]
            assert "episode" in infos[i]  # VecMonitor's statistics
    assert ends == 8  # every environment finished one episode of episode_bars steps


def test_batch_masks_match_single_env(bars, spec) -> None:
    cfg = model_config(env={"min_hold_bars": 4})
    data = model_data(bars, spec, cfg)
    contract = build_contract(cfg, data)
    batch = BatchTradingEnv(data, contract, cfg.env, 1, seed=0)
    single = TradingEnv(data, contract, cfg.env, "train", "train")
    start = single.first_row
    batch.reset(starts=[start])
    single.reset(options={"start": start})
    for target in [1.0, -1.0, 0.0, 0.0, 0.0, -1.0, 1.0]:
        np.testing.assert_array_equal(batch.action_masks()[0], single.action_masks())
        batch.step_targets(np.array([target]))
        single.step_target(target)
