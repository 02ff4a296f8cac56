"""The trading environment: gymnasium's checks, seeding, vector envs, masking, rewards,
termination, splits and the errors a bad config gets."""

from __future__ import annotations

import math
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from rl_support import COSTS, model_config, model_data
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

from tradewind.config.models import Actions, EnvConfig
from tradewind.domain.errors import Unsupported
from tradewind.policy import ContractMismatch, ModelData, next_bars_held, position_state
from tradewind.rl.contract import build_contract
from tradewind.rl.env import OBS_BLOCK, TradingEnv, discrete_targets, make_env


def env_for(data, make_cfg, split="train", mode="train", seed=0, **env):
    cfg = make_cfg(env=env)
    return TradingEnv(data, build_contract(cfg, data), cfg.env, split, mode, seed)


def run_actions(env: TradingEnv, actions, **reset):
    obs, info = env.reset(**reset)
    out = [(obs, 0.0, False, False, info)]
    for a in actions:
        out.append(env.step(a))
        if out[-1][2] or out[-1][3]:
            break
    return out


def test_discrete_targets() -> None:
    assert discrete_targets(Actions(sizes=(1.0,)), True) == (0.0, 1.0, -1.0)
    assert discrete_targets(Actions(sizes=(0.5, 1.0)), True) == (0.0, 0.5, 1.0, -0.5, -1.0)
    assert discrete_targets(Actions(sizes=(0.5, 1.0)), False) == (0.0, 0.5, 1.0)


@pytest.mark.filterwarnings("ignore:.*Box observation space m")  # unbounded features
@pytest.mark.parametrize("kind", ["discrete", "continuous"])
def test_passes_gymnasium_and_sb3_checks(data, make_cfg, kind) -> None:
    env = env_for(data, make_cfg, actions={"kind": kind})
    check_env(env, skip_render_check=True)
    sb3_check_env(env, warn=False)
    assert env.observation_space.shape == (8 * len(data.columns) + 3,)


def test_observation_is_the_builders(data, contract, cfg) -> None:
    env = TradingEnv(data, contract, cfg.env, "validation", "eval")
    obs, _ = env.reset()
    t = env.first_row
    assert t == data.rows["validation"].start  # the window looks back into training rows
    scaled = env.builder.scale(data.values)
    np.testing.assert_array_equal(obs, env.builder.observe(scaled, t, (0.0, 0.0, 0.0)))
    obs, *_ = env.step(1)  # long 1: state at t+1 has the position, its P&L and 1 bar held
    pos, upnl, held = obs[-3:]
    assert pos == 1.0
    assert held == pytest.approx(1 / cfg.env.time_scale)
    entry = data.bars.open[t + 1] * (1 + 0.1e-4) + 0.4e-4
    close = data.bars.close[t + 1]
    assert upnl == pytest.approx((close - entry) / entry, rel=1e-6)
    # every step: the builder's observation of the row and the book, value for value
    units, held_bars, longest = 1e4, 1, 0
    for a in np.repeat(np.random.default_rng(4).choice(3, size=100), 5):
        obs, _, term, trunc, info = env.step(a)
        held_bars = next_bars_held(units, info["units"], held_bars)
        units = info["units"]
        state = position_state(
            units, env._price, data.bars.close[info["row"]], held_bars, 1e4, 100.0
        )
        np.testing.assert_array_equal(obs, env.builder.observe(scaled, info["row"], state))
        longest = max(longest, held_bars)
        if term or trunc:
            break
    assert longest >= 5


def test_kept_observations_stay_as_returned(data, contract, cfg) -> None:
    """Observations come from shared blocks: each is its own row, never written again, across
    blocks, episodes and resets (callers may keep them)."""
    env = TradingEnv(data, contract, cfg.env, "train", "eval")
    scaled = env.builder.scale(data.values)
    w = env.builder.n_window
    kept = []
    obs, info = env.reset()
    for a in np.random.default_rng(3).integers(0, 3, 3 * OBS_BLOCK + 5):
        kept.append((obs, obs.copy(), info["row"]))
        obs, *_, info = env.step(a)
        if a == 0 and info["row"] % 7 == 0:  # a reset in mid-block now and then
            obs, info = env.reset(options={"start": info["row"]})
    env.reset()
    env.step(1)
    for obs, copy, row in kept:
        np.testing.assert_array_equal(obs, copy)
        np.testing.assert_array_equal(obs[:w], env.builder.observe(scaled, row, (0, 0, 0))[:w])
    assert len({id(o.base) for o, _, _ in kept}) > 3  # several blocks


def test_seeded_and_deterministic(data, make_cfg) -> None:
    actions = np.random.default_rng(1).integers(0, 3, 300).tolist()
    a = run_actions(env_for(data, make_cfg, seed=5), actions)
    b = run_actions(env_for(data, make_cfg, seed=5), actions)
    c = run_actions(env_for(data, make_cfg, seed=6), actions)
    assert [x[4]["row"] for x in a] == [x[4]["row"] for x in b]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:4] == y[1:4]
    assert a[0][4]["row"] != c[0][4]["row"]  # another seed, another start
    env = env_for(data, make_cfg)
    starts = {env.reset(seed=s)[1]["row"] for s in range(10)}
    assert len(starts) > 1
    assert env.reset(seed=3)[1]["row"] == env.reset(seed=3)[1]["row"]


def test_train_episodes_and_eval_split(data, make_cfg) -> None:
    env = env_for(data, make_cfg, episode_bars=50)
    steps = run_actions(env, [0] * 100)
    assert len(steps) == 51
    assert steps[-1][3]
    assert not steps[-1][2]
    ev = env_for(data, make_cfg, split="test", mode="eval")
    steps = run_actions(ev, [0] * 10_000)
    rows = data.rows["test"]
    assert steps[0][4]["row"] == rows.start
    assert steps[-1][4]["row"] == rows.stop - 1
    assert steps[-1][3]


@pytest.mark.parametrize("kind", ["dummy", "subproc", "gym_sync"])
def test_vector_envs(data, contract, cfg, kind) -> None:
    factories = [make_env(data, contract, cfg.env, seed=11, rank=i) for i in range(2)]
    factories = [pickle.loads(pickle.dumps(f)) for f in factories]  # plain pickle suffices
    single = [f() for f in factories]
    want = [e.reset(seed=11 + i)[0] for i, e in enumerate(single)]
    if kind == "gym_sync":
        vec = gym.vector.SyncVectorEnv(factories)
        obs, _ = vec.reset(seed=11)
        np.testing.assert_array_equal(obs, np.stack(want))
        obs, _rew, _term, _trunc, info = vec.step(np.array([1, 2]))
        assert obs.shape == (2, contract.obs_dim)
        assert info["units"].tolist() == [1e4, -1e4]
        vec.close()
        return
    vec = DummyVecEnv(factories) if kind == "dummy" else SubprocVecEnv(factories, "fork")
    vec.seed(11)
    np.testing.assert_array_equal(vec.reset(), np.stack(want))
    for _ in range(3):
        obs, _rew, _done, infos = vec.step(np.array([1, 2]))
    wants = [e.step(a) for e, a in zip(single, (1, 2), strict=True) for _ in range(3)]
    np.testing.assert_array_equal(obs, np.stack([wants[2][0], wants[5][0]]))
    assert [i["units"] for i in infos] == [1e4, -1e4]
    vec.close()


def test_masking_holds_min_hold_bars(data, make_cfg) -> None:
    env = env_for(data, make_cfg, mode="eval", min_hold_bars=3)
    env.reset()
    assert env.action_masks().tolist() == [True, True, True]
    _, _, _, _, info = env.step(1)  # long
    assert info["units"] == 1e4
    assert env.action_masks().tolist() == [False, True, False]
    _, _, _, _, info = env.step(2)  # short: refused, long kept
    assert (info["units"], info["target"], info["invalid_actions"]) == (1e4, 1.0, 1)
    env.step(1)  # keeping is always valid
    assert env.action_masks().tolist() == [True, True, True]  # held 3 bars
    _, _, _, _, info = env.step(2)
    assert (info["units"], info["invalid_actions"]) == (-1e4, 1)
    cont = env_for(data, make_cfg, mode="eval", min_hold_bars=2, actions={"kind": "continuous"})
    cont.reset()
    cont.step(np.array([0.5], dtype=np.float32))
    assert cont.action_masks().tolist() == [False]
    _, _, _, _, info = cont.step(np.array([-0.3], dtype=np.float32))
    assert info["units"] == 5e3
    assert info["invalid_actions"] == 1


def test_targets_are_clipped_and_nan_is_flat(data, make_cfg) -> None:
    env = env_for(data, make_cfg, mode="eval")
    env.reset()
    assert env.step_target(3.0)[4]["units"] == 1e4
    assert env.step_target(math.nan)[4]["units"] == 0.0
    assert env.step_target(-0.5)[4]["units"] == -5e3


def test_no_shorts(data, make_cfg) -> None:
    env = env_for(data, make_cfg, allow_short=False)
    assert env.action_space.n == 2
    cont = env_for(data, make_cfg, allow_short=False, actions={"kind": "continuous"})
    assert cont.action_space.low.tolist() == [0.0]
    cont.reset()
    assert cont.step_target(-1.0)[4]["units"] == 0.0


def equity_path(steps):
    return np.array([s[4]["equity"] for s in steps])


def test_reward_kinds(data, make_cfg) -> None:
    actions = np.random.default_rng(2).integers(0, 3, 400).tolist()
    kw = {"mode": "eval", "split": "train"}
    pnl = run_actions(env_for(data, make_cfg, **kw), actions)
    eq = equity_path(pnl)
    rewards = np.array([s[1] for s in pnl[1:]])
    np.testing.assert_allclose(rewards, np.diff(eq) / 1e5 * 100.0, rtol=1e-12)

    pen = run_actions(
        env_for(data, make_cfg, reward={"kind": "drawdown_penalty", "drawdown_penalty": 2.0}, **kw),
        actions,
    )
    np.testing.assert_array_equal(equity_path(pen), eq)
    dd = np.array([s[4]["drawdown"] for s in pen])
    want = (np.diff(eq) / 1e5 - 2.0 * np.maximum(np.diff(dd), 0)) * 100.0
    np.testing.assert_allclose([s[1] for s in pen[1:]], want, rtol=1e-9, atol=1e-15)
    assert dd.max() > 0

    eta = 0.05
    dsr = run_actions(
        env_for(data, make_cfg, reward={"kind": "differential_sharpe", "sharpe_eta": eta}, **kw),
        actions,
    )
    a = b = 0.0
    want = []
    for r in eq[1:] / eq[:-1] - 1:  # Moody & Saffell (1998), eq. 4, written out
        var = b - a * a
        d = (b * (r - a) - 0.5 * a * (r * r - b)) / var**1.5 if var > 1e-12 else 0.0
        want.append(float(np.clip(d, -10, 10)))
        a, b = a + eta * (r - a), b + eta * (r * r - b)
    np.testing.assert_allclose([s[1] for s in dsr[1:]], want, rtol=1e-9)
    assert any(w != 0 for w in want)


def test_max_drawdown_terminates(data, make_cfg) -> None:
    env = env_for(data, make_cfg, mode="eval", max_drawdown=0.001)
    steps = run_actions(env, [1] * 10_000)
    last = steps[-1]
    assert last[2]
    assert not last[3]
    assert last[4]["drawdown"] >= 0.001
    assert all(s[4]["drawdown"] < 0.001 for s in steps[:-1])


def test_scaler_uses_train_rows_only(data, cfg) -> None:
    def with_values(values):
        return ModelData(data.bars, data.columns, values, data.feature_spec_fingerprint, data.rows)

    base = build_contract(cfg, data).scaler
    v = data.values.copy()
    rest = slice(data.rows["validation"].start, None)
    v[rest] = np.random.default_rng(0).normal(size=v[rest].shape) * 1e3
    assert build_contract(cfg, with_values(v)).scaler == base
    v[data.rows["train"].stop - 1] += 1.0
    assert build_contract(cfg, with_values(v)).scaler != base


def test_bad_configs_are_refused(data, make_cfg, bars, spec) -> None:
    with pytest.raises(Unsupported, match=r"spread='data'.*env\.costs"):
        env_for(data, make_cfg, costs={**COSTS, "spread": "data"})
    with pytest.raises(Unsupported, match="volume_scaled"):
        env_for(data, make_cfg, costs={**COSTS, "slippage": "volume_scaled"})
    with pytest.raises(ValueError, match="no leverage"):
        env_for(data, make_cfg, max_units=1e6)
    cfg = make_cfg()
    contract = build_contract(cfg, data)
    with pytest.raises(ValueError, match="unknown split"):
        TradingEnv(data, contract, cfg.env, "holdout")
    with pytest.raises(ValueError, match="continuous"):
        TradingEnv(data, contract, make_cfg(env={"actions": {"kind": "continuous"}}).env)
    with pytest.raises(ValueError, match="max_units"):
        TradingEnv(data, contract, EnvConfig(costs=COSTS, max_units=5000))
    fewer = model_config(columns=("rsi_14", "atr_14"))
    with pytest.raises(ContractMismatch, match="missing"):
        TradingEnv(model_data(bars, spec, fewer), contract, cfg.env)
    long_window = model_config(window=750)  # longer than the training split
    wide = model_data(bars, spec, long_window)
    with pytest.raises(ValueError, match="full window"):
        TradingEnv(wide, build_contract(long_window, wide), long_window.env, "train")
    gappy = data.values.copy()
    gappy[data.rows["validation"].start + 50, 3] = np.nan
    holed = ModelData(data.bars, data.columns, gappy, data.feature_spec_fingerprint, data.rows)
    with pytest.raises(ValueError, match=r"feature gap \(NaN\) in the window of row"):
        TradingEnv(holed, contract, cfg.env, "validation")
    env = TradingEnv(data, contract, cfg.env, "train", "train")
    with pytest.raises(ValueError, match="outside"):
        env.reset(options={"start": 0})
    assert math.isfinite(env.reset(options={"start": 100})[1]["equity"])
