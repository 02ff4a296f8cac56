"""Benchmark: RL environment steps/s against gym-anytrading, and PPO training timesteps/s.

``python -m bench.rl_bench`` (``make bench``). Everything runs in one process on synthetic
EUR_USD H1 bars (seed 7; ``--bars``, 100,000 by default), the default features, the demo model
config (``configs/models/ppo_eurusd_h1.yaml``: window 30, flat / long / short, its costs) with
splits of 60 / 20 / 20 % of the bars.

Single environments, like for like: each of ours against a gym-anytrading ``ForexEnv`` given
the same feature columns over the same rows, both stepping one episode over the train split
(ours ``mode="eval"`` from its first row with a full window, theirs ``frame_bound`` = that row
and the split's end: the same number of steps), window 30, random actions, reset when an
episode ends:

* (a) 2 columns: our ``TradingEnv`` with ``log_return_1``, ``zscore_20`` (30 x 2 + 3
  position-state values = 63 floats) against ``ForexEnv`` with its own 2 columns (close and
  its difference: 30 x 2 float32);
* (b) 15 columns: our ``TradingEnv`` with the default config's 15 columns (30 x 15 + 3 = 453
  floats) against ``ForexEnv`` whose ``_process_data`` returns the same 15 scaled columns
  (30 x 15 float32).

Per step, ours: the target position, a fill at the next open with the config's spread,
slippage and commission, the average-price book, equity, the drawdown stop, the pnl reward,
the observation (window + position state) and an info dict of 7 keys. Theirs: a Buy/Sell
position flip, a reward from the price change at a flip, its profit with a fixed fee at a
flip, the observation (a view of its feature array: no copy, no position state), an info
dict of 3 keys appended to its history.
* Our ``BatchTradingEnv`` (N environments stepped in one numba call, SB3 ``VecEnv``,
  ``step_async``/``step_wait`` with auto-reset) with the 15 columns, N = 64, 256, 1024;
  env-steps/s = N x batch steps/s. One untimed step first (numba compilation).

Issue 4's aims: our env-steps/s at least 5x gym-anytrading's (the batch env against the
15-column ``ForexEnv``) and at least 1,000,000; issue 18's: the single ``TradingEnv`` at 15
columns at least 1.5x the 15-column ``ForexEnv``. The runs
of every environment measurement are interleaved (one of each in turn), so the machine's noise
falls on all of them alike. Then PPO (``MlpPolicy``, ``n_steps=256`` per environment, other
hyperparameters SB3's defaults, one torch thread, CPU) trains with 1 environment
(``DummyVecEnv``), 2 (``DummyVecEnv``, ``SubprocVecEnv``) and ``BatchTradingEnv`` with 2 and 8;
each model is built and trained one rollout untimed first, then the timed runs (interleaved)
train ``--ppo-timesteps`` more each.

gym-anytrading is for the benchmark only (``pip install gym-anytrading``, extra ``bench``);
without it its row and the ratios are skipped. ``--write-results`` writes section ``rl`` of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from bench.common import check, command_line, log, machine_info, timed
from bench.report import publish
from tradewind.config import load_config
from tradewind.config.features import FeatureSpec
from tradewind.config.models import ModelConfig
from tradewind.config.synthetic import SyntheticConfig
from tradewind.domain.series import BarSeries
from tradewind.features import build_features
from tradewind.marketdata.synthetic import generate_bars
from tradewind.policy import ModelContract, ModelData, position_state
from tradewind.rl.batch import BatchTradingEnv
from tradewind.rl.contract import build_contract
from tradewind.rl.env import OBS_BLOCK, Mode, TradingEnv, make_env

MODEL_CONFIG = "configs/models/ppo_eurusd_h1.yaml"
SYMBOL = "EUR_USD"
BARS = 100_000
SEED = 7
SPLIT_SHARES = (0.6, 0.2)  # train, validation; test the rest
WINDOW = 30
SMALL_COLUMNS = ("log_return_1", "zscore_20")
BATCH_SIZES = (64, 256, 1024)
PPO_N_STEPS = 256
GOAL_RATIO = 5.0  # our env-steps/s over gym-anytrading's, at least (issue 4's aim)
GOAL_RATE = 1_000_000  # env-steps/s, issue 4's aim
GOAL_SINGLE = 1.5  # single TradingEnv over ForexEnv at 15 columns, at least (issue 18's aim)

THEIRS_2 = "gym-anytrading ForexEnv, its 2 columns, obs 30x2"
THEIRS_15 = "gym-anytrading ForexEnv, our 15 columns, obs 30x15"
OURS_2 = "ours: TradingEnv, 2 columns, obs 63"
OURS_15 = "ours: TradingEnv, 15 columns, obs 453"


def batch_name(n: int) -> str:
    return f"ours: BatchTradingEnv N={n}, 15 columns, obs 453"


PPO_DUMMY_1 = "PPO, 1 env: DummyVecEnv(TradingEnv)"
PPO_DUMMY_2 = "PPO, 2 envs: DummyVecEnv(TradingEnv)"
PPO_SUBPROC_2 = "PPO, 2 envs: SubprocVecEnv(TradingEnv)"
PPO_BATCH_2 = "PPO, 2 envs: BatchTradingEnv"
PPO_BATCH_8 = "PPO, 8 envs: BatchTradingEnv"
ENV_ORDER = [THEIRS_2, THEIRS_15, OURS_2, OURS_15, *(batch_name(n) for n in BATCH_SIZES)]
OURS = ENV_ORDER[2:]
PEER = {OURS_2: THEIRS_2, OURS_15: THEIRS_15} | {batch_name(n): THEIRS_15 for n in BATCH_SIZES}
PPO_ORDER = [PPO_DUMMY_1, PPO_DUMMY_2, PPO_SUBPROC_2, PPO_BATCH_2, PPO_BATCH_8]

GYM_ANYTRADING_MISSING = (
    "gym-anytrading is not installed: its row and the ratios are skipped.\n"
    "It is for this benchmark only; install it into the venv with:  "
    ".venv/bin/pip install gym-anytrading"
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.rl_bench", description=__doc__.splitlines()[0]
    )
    p.add_argument("--bars", type=int, default=BARS, help="synthetic H1 bars (100,000)")
    p.add_argument("--runs", type=int, default=None, help="runs of each env measurement (7)")
    p.add_argument("--ppo-runs", type=int, default=None, help="runs of each PPO measurement (3)")
    p.add_argument(
        "--steps", type=int, default=None, help="single-environment steps per run (200,000)"
    )
    p.add_argument(
        "--batch-steps",
        type=int,
        default=None,
        help="env-steps per BatchTradingEnv run, rounded down to a multiple of N (2,000,000)",
    )
    p.add_argument(
        "--ppo-timesteps", type=int, default=None, help="PPO timesteps per timed run (8192)"
    )
    p.add_argument("--skip-ppo", action="store_true", help="skip the PPO measurements")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke check: 2 runs, 20,000 steps, 200,000 batch env-steps, 1 PPO run of 2048",
    )
    p.add_argument(
        "--write-results", action="store_true", help="write the figures into bench/RESULTS.md"
    )
    args = p.parse_args(argv)
    defaults = (
        {"runs": 2, "ppo_runs": 1, "steps": 20_000, "batch_steps": 200_000, "ppo_timesteps": 2048}
        if args.quick
        else {
            "runs": 7,
            "ppo_runs": 3,
            "steps": 200_000,
            "batch_steps": 2_000_000,
            "ppo_timesteps": 8192,
        }
    )
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if min(args.runs, args.ppo_runs) < 1 or args.steps < 1000:
        p.error("--runs and --ppo-runs must be at least 1, --steps at least 1000")
    if args.bars < 5000:
        p.error("--bars must be at least 5000")
    if args.batch_steps < max(BATCH_SIZES):
        p.error(f"--batch-steps must be at least {max(BATCH_SIZES)}")
    if args.ppo_timesteps < 1 or args.ppo_timesteps % (PPO_N_STEPS * 8):
        p.error(f"--ppo-timesteps must be a positive multiple of {PPO_N_STEPS * 8} (8 envs)")
    return args


# --- data and environments --------------------------------------------------------------------


def load_bars(n: int) -> BarSeries:
    """``generate_bars`` (``n`` EUR_USD H1, seed 7) as a ``BarSeries``."""
    cfg = SyntheticConfig(instrument=SYMBOL, timeframe="H1", bars=n, seed=SEED)
    df = generate_bars(cfg)
    ts = df["ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
    cols = {c: df[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")}
    bars = BarSeries(ts=ts.view(np.int64), **cols)
    check(len(bars) == n, f"{len(bars)} bars, expected {n}")
    return bars


def splits(bars: BarSeries) -> dict[str, dict[str, datetime]]:
    """Train / validation / test over ``SPLIT_SHARES`` of the bars, as a config's dates."""
    n, ts = len(bars), bars.ts
    cut = [0, int(n * SPLIT_SHARES[0]), int(n * sum(SPLIT_SHARES)), n]

    def at(i: int) -> datetime:  # the open time of row i (one hour past the last bar at n)
        us = int(ts[i]) if i < n else int(ts[-1]) + 3_600_000_000
        return datetime.fromtimestamp(us / 1e6, UTC)

    names = ("train", "validation", "test")
    return {k: {"start": at(cut[i]), "end": at(cut[i + 1])} for i, k in enumerate(names)}


@dataclass(frozen=True)
class Setup:
    """One model config over the bars: its data and contract (what every env is built from)."""

    cfg: ModelConfig
    data: ModelData
    contract: ModelContract

    @classmethod
    def build(cls, bars: BarSeries, columns: tuple[str, ...] | None) -> Setup:
        base = load_config(MODEL_CONFIG, ModelConfig)
        cfg = ModelConfig.model_validate(
            {**base.model_dump(), "window": WINDOW, "columns": columns, "splits": splits(bars)}
        )
        spec = load_config(cfg.features, FeatureSpec)
        frame = build_features(bars, spec)
        data = ModelData.build(bars, frame.columns, frame.values, spec.fingerprint, cfg)
        return cls(cfg, data, build_contract(cfg, data))

    def env(self, mode: Mode = "train") -> TradingEnv:
        return TradingEnv(self.data, self.contract, self.cfg.env, mode=mode, seed=SEED)

    def batch(self, n: int) -> BatchTradingEnv:
        return BatchTradingEnv(self.data, self.contract, self.cfg.env, n, seed=SEED)


def import_forex_env() -> Any | None:
    try:
        from gym_anytrading.envs import ForexEnv
    except ImportError:
        return None
    return ForexEnv


def their_env(forex_env: Any, setup: Setup, ours: TradingEnv, own_columns: bool) -> Any:
    """A ``ForexEnv`` over the rows of ``ours``'s eval episode (``frame_bound`` = its first row
    and its stop: the same steps), window 30: with its own 2 columns (close, its difference) or
    with ours (the scaled feature columns, float32, via ``_process_data``)."""
    data, start, stop = setup.data, ours.first_row, ours.stop_row
    df = pd.DataFrame({"Close": data.bars.close})
    if own_columns:
        return forex_env(df, window_size=WINDOW, frame_bound=(start, stop))
    scaled = ours.builder.scale(data.values)

    class OurColumns(forex_env):  # type: ignore[misc, valid-type]
        def _process_data(self) -> tuple[np.ndarray, np.ndarray]:
            lo = self.frame_bound[0] - self.window_size
            prices = data.bars.close[lo : self.frame_bound[1]].astype(np.float32)
            return prices, np.ascontiguousarray(scaled[lo : self.frame_bound[1]])

    return OurColumns(df, window_size=WINDOW, frame_bound=(start, stop))


def step_single(env: Any, actions: list[int]) -> int:
    """``env.step`` every action, resetting at an episode's end; returns the episodes ended."""
    step, reset = env.step, env.reset
    ended = 0
    for a in actions:
        _obs, _reward, terminated, truncated, _info = step(a)
        if terminated or truncated:
            reset()
            ended += 1
    return ended


def step_batch(venv: BatchTradingEnv, actions: np.ndarray) -> int:
    """``step_async`` + ``step_wait`` for every row of ``actions``; returns the episodes ended."""
    step_async, step_wait = venv.step_async, venv.step_wait
    ended = 0
    for a in actions:
        step_async(a)
        _obs, _rewards, dones, _infos = step_wait()
        ended += int(np.count_nonzero(dones))
    return ended


def per_call_us(fn: Callable[[], Any], calls: int) -> float:
    """Microseconds per call of ``fn`` over ``calls`` calls (one sample)."""
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls * 1e6


# --- the benchmark ----------------------------------------------------------------------------


@dataclass
class Measurement:
    name: str
    steps: int  # env-steps (or PPO timesteps) in one sample
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        """Steps per second at the median time."""
        return self.steps / self.median if self.seconds and self.median > 0 else 0.0

    @property
    def spread(self) -> float:
        """(max - min) / median of the times."""
        return (max(self.seconds) - min(self.seconds)) / self.median if self.seconds else 0.0


@dataclass
class Bench:
    args: argparse.Namespace
    small: Setup
    full: Setup
    results: dict[str, Measurement] = field(default_factory=dict)
    checks: list[tuple[str, str]] = field(default_factory=list)  # (check, outcome)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self, name: str, steps: int, seconds: float) -> None:
        m = self.results.setdefault(name, Measurement(name, steps))
        check(m.steps == steps, f"{name}: {steps} steps, earlier samples had {m.steps}")
        m.seconds.append(seconds)
        log(f"  {name:52} {seconds:8.3f} s  {steps / seconds:>13,.0f} steps/s")

    def passed(self, what: str, outcome: str) -> None:
        self.checks.append((what, outcome))
        log(f"  check: {what}: {outcome}")

    # (1)-(3) env steps, ours against gym-anytrading, interleaved runs
    def env_steps(self, forex_env: Any | None) -> None:
        a = self.args
        rng = np.random.default_rng(SEED)
        cases: list[tuple[str, Callable[[], int], int]] = []  # name, one timed run, steps
        episodes: dict[str, int] = {}  # steps in an episode, per single env

        for name, peer, setup, dim in (
            (OURS_2, THEIRS_2, self.small, 63),
            (OURS_15, THEIRS_15, self.full, 453),
        ):
            env = setup.env("eval")
            obs, _ = env.reset()
            check(obs.shape == (dim,) and obs.dtype == np.float32, f"{name}: obs {obs.shape}")
            episodes[name] = env.stop_row - 1 - env.first_row
            if forex_env is not None:
                theirs = their_env(forex_env, setup, env, own_columns=peer == THEIRS_2)
                tobs, _ = theirs.reset(seed=SEED)
                cols = 2 if peer == THEIRS_2 else 15
                check(tobs.shape == (WINDOW, cols), f"{peer}: obs {tobs.shape}")
                check(tobs.dtype == np.float32, f"{peer}: obs dtype {tobs.dtype}")
                if peer == THEIRS_15:
                    check(np.array_equal(tobs.reshape(-1), obs[: WINDOW * cols]), f"{peer} window")
                episodes[peer] = theirs._end_tick - theirs._start_tick
                check(episodes[peer] == episodes[name], f"{peer}: episode {episodes[peer]} steps")
                acts = rng.integers(0, theirs.action_space.n, a.steps).tolist()
                cases.append((peer, lambda e=theirs, x=acts: step_single(e, x), a.steps))
            acts = rng.integers(0, env.action_space.n, a.steps).tolist()
            cases.append((name, lambda e=env, x=acts: step_single(e, x), a.steps))
            self.extra.setdefault("envs", {})[name] = env
        self.extra["episodes"] = episodes

        for n in BATCH_SIZES:
            venv = self.full.batch(n)
            obs = venv.reset()
            check(obs.shape == (n, 453), f"batch N={n}: obs {obs.shape}")
            venv.step_async(np.zeros(n, dtype=np.int64))  # numba compilation, untimed
            venv.step_wait()
            k = a.batch_steps // n
            acts = rng.integers(0, 3, (k, n))
            cases.append((batch_name(n), lambda v=venv, x=acts: step_batch(v, x), k * n))
            self.extra.setdefault("batches", {})[n] = venv

        # an episode must end in a run when a run steps an environment past an episode
        must_end = {name: a.steps > steps for name, steps in episodes.items()}
        episode = self.full.cfg.env.episode_bars
        must_end |= {batch_name(n): a.batch_steps // n > episode for n in BATCH_SIZES}
        for _name, run, _steps in cases:  # one untimed pass of each (caches, allocator)
            run()
        for r in range(a.runs):
            log(f" env run {r + 1}/{a.runs}")
            for name, run, steps in cases:
                dt, ended = timed(run)
                check(ended > 0 or not must_end[name], f"{name}: no episode ended in a run")
                self.record(name, steps, dt)
        self.breakdown()

    def breakdown(self) -> None:
        """Where a step's time goes: parts of it timed alone (fastest of 7 samples)."""
        env: TradingEnv = self.extra["envs"][OURS_15]
        env.reset()
        t = env.row
        calls = 50_000

        def med(fn: Callable[[], Any], n: int = calls) -> float:
            """Fastest of 7 samples: the machine's noise only ever adds time."""
            return min(per_call_us(fn, n) for _ in range(7))

        nw = env._n_window
        obs = env._block[0]

        def state() -> None:  # step's three writes of the position state
            obs[nw] = 0.5
            obs[nw + 1] = 0.001
            obs[nw + 2] = 0.03

        # the old way, for comparison: a new array, the window copied in, position_state
        flat, end = env._scaled.reshape(-1), (t + 1) * env.builder.n_features

        def new_array() -> None:
            out = np.empty(453, dtype=np.float32)
            out[:nw] = flat[end - nw : end]
            out[nw:] = position_state(1e4, 1.1, 1.2, 3, 1e4, 100.0)

        parts = {
            "block": med(lambda: env._new_block(t), 5000) / OBS_BLOCK,
            "row": med(lambda: env._block[3]),
            "state": med(state),
            "info": med(env._info),
            "new_array": med(new_array),
        }
        # the batch env at the largest N: its kernel alone (fresh episodes: no env reaches its
        # end in 200 calls), the observation copy and the N info dicts step_wait returns
        n = max(BATCH_SIZES)
        venv: BatchTradingEnv = self.extra["batches"][n]
        check(venv.cfg.episode_bars > 200, "kernel timing needs episodes over 200 bars")
        kernel = []
        for _ in range(7):
            venv.reset()
            kernel.append(per_call_us(venv._kernel, 200))
        parts["kernel"] = min(kernel)
        venv.reset()
        parts["batch_copy"] = med(venv._obs.copy, 2000)
        parts["batch_infos"] = med(lambda: [{} for _ in range(n)], 2000)
        self.extra["breakdown"] = parts
        log(f"  breakdown (us): {', '.join(f'{k} {v:.2f}' for k, v in parts.items())}")

    def parity(self) -> None:
        """BatchTradingEnv (N=1) and TradingEnv from the same row with the same actions."""
        env, venv = self.full.env(), self.full.batch(1)
        env.reset()
        row = env.first_row
        obs, _ = env.reset(options={"start": row})
        vobs = venv.reset(starts=[row])
        acts = np.random.default_rng(SEED + 1).integers(0, 3, 500)
        worst_obs = float(np.max(np.abs(obs - vobs[0])))
        worst_r = 0.0
        steps = 0
        for act in acts:
            obs, reward, term, trunc, _ = env.step(int(act))
            venv.step_async(np.array([act]))
            vobs, vr, vdone, _ = venv.step_wait()
            worst_obs = max(worst_obs, float(np.max(np.abs(obs - vobs[0]))))
            worst_r = max(worst_r, abs(float(np.float32(reward)) - float(vr[0])))
            steps += 1
            check(bool(vdone[0]) == (term or trunc), "batch and single env end differently")
            if term or trunc:
                break
        check(worst_obs == 0.0 and worst_r == 0.0, f"parity: obs {worst_obs}, reward {worst_r}")
        self.passed(
            "BatchTradingEnv (N=1) vs TradingEnv, same start row and random actions",
            f"identical observations and rewards (float32) over {steps} steps",
        )

    # (5) PPO training timesteps/s
    def ppo(self) -> None:
        import torch
        from stable_baselines3 import PPO
        from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

        torch.set_num_threads(1)
        a, s = self.args, self.full

        def factories(n: int) -> list[Any]:
            return [make_env(s.data, s.contract, s.cfg.env, seed=SEED, rank=i) for i in range(n)]

        makers: list[tuple[str, int, Callable[[], VecEnv]]] = [
            (PPO_DUMMY_1, 1, lambda: DummyVecEnv(factories(1))),
            (PPO_DUMMY_2, 2, lambda: DummyVecEnv(factories(2))),
            (PPO_SUBPROC_2, 2, lambda: SubprocVecEnv(factories(2))),
            (PPO_BATCH_2, 2, lambda: s.batch(2)),
            (PPO_BATCH_8, 8, lambda: s.batch(8)),
        ]
        models: list[tuple[str, Any]] = []
        try:
            for name, n, make in makers:
                vec = make()
                model = PPO("MlpPolicy", vec, n_steps=PPO_N_STEPS, device="cpu", seed=SEED)
                model.learn(PPO_N_STEPS * n)  # warm-up: one rollout and one update, untimed
                models.append((name, model))
            for r in range(a.ppo_runs):
                log(f" PPO run {r + 1}/{a.ppo_runs}")
                for name, model in models:
                    before = model.num_timesteps
                    dt, _ = timed(
                        lambda m=model: m.learn(a.ppo_timesteps, reset_num_timesteps=False)
                    )
                    done = model.num_timesteps - before
                    check(done == a.ppo_timesteps, f"{name}: {done} timesteps trained")
                    self.record(name, done, dt)
        finally:
            for _name, model in models:
                model.get_env().close()


# --- the report -------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    return machine_info(
        (
            "numpy",
            "numba",
            "gymnasium",
            "gym-anytrading",
            "stable_baselines3",
            "torch",
        )
    )


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def ratio_of(bench: Bench, name: str) -> float | None:
    """Our env-steps/s over the peer's (``PEER``), at the medians; None without the peer."""
    ours, theirs = bench.results.get(name), bench.results.get(PEER[name])
    return ours.rate / theirs.rate if ours and theirs else None


COMPARES = {
    OURS_2: "the same rows, window 30, one episode over the train split, random actions; "
    "ours 2 feature columns + position state with costs, book, pnl reward; theirs its 2 "
    "columns (close, difference), a position flip and a fee at a flip",
    OURS_15: "the same 15 scaled columns, the same rows, window 30, one episode over the train "
    "split, random actions; ours with costs, book, position state, pnl reward, info of 7 keys; "
    "theirs a view of its array, a flip and a fee at a flip, info of 3 keys + its history",
}


def single_lines(bench: Bench) -> list[str]:
    rows = [
        "| ratio (env-steps/s at the medians) | ours | theirs | ratio | >= 1.5x | "
        "what it compares |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name in (OURS_15, OURS_2):
        m, ratio = bench.results.get(name), ratio_of(bench, name)
        if m is None or ratio is None:
            continue
        theirs = bench.results[PEER[name]]
        goal = yes(ratio >= GOAL_SINGLE) if name == OURS_15 else "-"
        rows.append(
            f"| {name.removeprefix('ours: ')} / {PEER[name]} | {m.rate:,.0f} | "
            f"{theirs.rate:,.0f} | {ratio:.2f}x | {goal} | {COMPARES[name]} |"
        )
    return rows


def goal_lines(bench: Bench) -> list[str]:
    r = bench.results
    rows = [
        "| ours (env-steps/s at the medians) | steps/s | vs gym-anytrading (peer) | >= 5x | "
        ">= 1,000,000 steps/s |",
        "|---|---:|---:|---|---|",
    ]
    for name in OURS:
        m = r.get(name)
        if m is None:
            continue
        ratio = ratio_of(bench, name)
        peer = "2 columns" if PEER[name] == THEIRS_2 else "15 columns"
        shown = f"{ratio:.1f}x ({peer})" if ratio is not None else "-"
        five = yes(ratio >= GOAL_RATIO) if ratio is not None else "-"
        rows.append(f"| {name} | {m.rate:,.0f} | {shown} | {five} | {yes(m.rate >= GOAL_RATE)} |")
    return rows


def verdict(bench: Bench) -> str:
    both, part, neither = [], [], []
    for name in OURS:
        m = bench.results.get(name)
        if m is None:
            continue
        ratio = ratio_of(bench, name)
        ok_ratio = ratio is not None and ratio >= GOAL_RATIO
        ok_rate = m.rate >= GOAL_RATE
        short = name.removeprefix("ours: ").rsplit(", obs", 1)[0]
        (both if ok_ratio and ok_rate else part if ok_ratio or ok_rate else neither).append(short)
    out = []
    if both:
        out.append(f"both aims met by {' / '.join(both)}")
    if part:
        out.append(f"one of the two met by {' / '.join(part)}")
    if neither:
        out.append(f"neither met by {' / '.join(neither)}")
    return "; ".join(out) + "."


def table_lines(bench: Bench, order: list[str], unit: str) -> list[str]:
    rows = [
        f"| measurement | {unit} per run | runs | median s | min s | max s | "
        f"{unit}/s (median) | {unit}/s (min - max) | spread |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in order:
        m = bench.results.get(name)
        if m is None:
            continue
        lo, hi = m.steps / max(m.seconds), m.steps / min(m.seconds)
        rows.append(
            f"| {m.name} | {m.steps:,} | {len(m.seconds)} | {m.median:.3f} | "
            f"{min(m.seconds):.3f} | {max(m.seconds):.3f} | {m.rate:,.0f} | "
            f"{lo:,.0f} - {hi:,.0f} | {m.spread:.0%} |"
        )
    return rows


def best_us(m: Measurement) -> float:
    """Microseconds per step in the fastest run."""
    return min(m.seconds) / m.steps * 1e6


def analysis(bench: Bench) -> list[str]:
    """3-6 lines on where the time goes, with this run's figures: the fastest run of each
    measurement against the parts' fastest samples (noise only adds time)."""
    r, b = bench.results, bench.extra.get("breakdown", {})
    lines: list[str] = []
    o2, o15, theirs = r.get(OURS_2), r.get(OURS_15), r.get(THEIRS_15)
    if o2 and o15 and b:
        us2, us15 = best_us(o2), best_us(o15)
        obs = b["block"] + b["row"] + b["state"]
        lines.append(
            f"A `TradingEnv.step` takes {us15:.2f} us with 453 floats and {us2:.2f} us with 63. "
            f"Its observation costs {obs:.2f} us: the next row of a block of {OBS_BLOCK} "
            f"allocated at once with their windows copied in ({b['block']:.2f} us a row for the "
            f"block, {b['row']:.2f} us for the row's view) and {b['state']:.2f} us for writing "
            f"the 3 position-state values; a new array with the window copied and "
            f"`position_state` called, the way before, takes {b['new_array']:.2f} us. The info "
            f"dict (7 keys, a new one each step: SB3's wrappers add keys to it) is "
            f"{b['info']:.2f} us, and the rest ({us15 - obs - b['info']:.2f} us) is the "
            "accounting, written inline in `step_target` (the target, the fill price and "
            "commission, the average-price book, bars held, equity, drawdown, the pnl reward)."
        )
        lines.append(
            "A Python `step` per env-step cannot reach 1,000,000 steps/s (1 us a step): each "
            "numpy call (a view, a scalar write) costs ~0.03-0.1 us, a dict of 7 keys ~0.1 us, "
            "and the accounting is dozens of bytecodes with float boxing; at "
            f"{us15:.2f} us a step the interpreter is the whole cost, not the arithmetic."
        )
    if theirs and o2 and o15:
        ep = bench.extra.get("episodes", {}).get(THEIRS_15, 0)
        lines.append(
            f"gym-anytrading's step at 15 columns ({best_us(theirs):.2f} us) is as "
            "interpreter-bound: no costs and no position state, its observation a view into its "
            "feature array (no copy), but it compares enum members in three places, builds an "
            "info dict with `dict(...)` and appends each value to a history that grows over "
            f"its {ep:,}-step episode. Single env against it: {o15.rate / theirs.rate:.2f}x at "
            f"15 columns and {o2.rate / r[THEIRS_2].rate:.2f}x at 2 (its own columns); issue "
            "4's 5x only batching reaches."
        )
    big, small = r.get(batch_name(max(BATCH_SIZES))), r.get(batch_name(min(BATCH_SIZES)))
    if big and small and b:
        n = max(BATCH_SIZES)
        per_batch = best_us(big) * n
        rest = per_batch - b["kernel"] - b["batch_copy"] - b["batch_infos"]
        lines.append(
            f"`BatchTradingEnv` pays the interpreter once per batch: "
            f"{small.rate / 1e6:.2f}M env-steps/s at N={min(BATCH_SIZES)}, "
            f"{big.rate / 1e6:.2f}M at N={n}. Its batch step at N={n} takes {per_batch:.0f} us: "
            f"the numba kernel {b['kernel']:.0f} us ({b['kernel'] / n * 1000:.0f} ns an "
            f"env-step: accounting + writing 453 floats), `step_wait`'s copy of the "
            f"N x 453 observations ({n * 453 * 4 / 2**20:.1f} MiB) {b['batch_copy']:.0f} us, "
            f"the N empty info dicts SB3's interface wants {b['batch_infos']:.0f} us, and "
            f"~{max(rest, 0.0):.0f} us the rest (Python auto-resets of the ~N/1024 envs "
            "ending each step, the rewards cast). The kernel dominates, and 2 x 1.8 kB of "
            "observation written per env-step (kernel, copy) is most of its memory traffic."
        )
    p1, p8 = r.get(PPO_DUMMY_1), r.get(PPO_BATCH_8)
    d2, s2, b2 = r.get(PPO_DUMMY_2), r.get(PPO_SUBPROC_2), r.get(PPO_BATCH_2)
    if p1 and p8 and d2 and s2 and b2 and o15:
        lines.append(
            f"PPO: {p1.rate:,.0f} timesteps/s with 1 env, 2 envs {d2.rate:,.0f} (DummyVecEnv) / "
            f"{s2.rate:,.0f} (SubprocVecEnv) / {b2.rate:,.0f} (BatchTradingEnv), 8 envs "
            f"{p8.rate:,.0f} (BatchTradingEnv). The env is ~{best_us(o15):.0f} us of a "
            f"~{1e6 / p1.rate:.0f} us timestep; torch is the rest (a policy forward pass per "
            "vector step, then 10 epochs of minibatch-64 updates, the same update work per "
            "timestep everywhere), so more envs help only by batching the forward pass, the "
            "vector-env choice at 2 envs is within the noise, and SubprocVecEnv's pipes and "
            "worker processes buy nothing for microsecond steps on 2 cores."
        )
    return lines


def render(
    bench: Bench, info: dict[str, str], command: str, seconds: float, load: tuple[str, str]
) -> str:
    a = bench.args
    sp = bench.full.data.rows["train"]
    ep = bench.extra.get("episodes", {})
    lines = [
        "## RL environments and PPO training",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Command: `{command}` (whole run: {seconds:.0f} s)",
        *(f"- {k}: {v}" for k, v in info.items()),
        f"- Load average (1 min) at the start and the end: {load[0]} / {load[1]}",
        f"- Data: {a.bars:,} synthetic H1 {SYMBOL} bars (seed {SEED}), the default features; "
        f"`{MODEL_CONFIG}` with window {WINDOW} (discrete flat / long / short, its costs, "
        f"pnl reward), splits 60 / 20 / 20 % of the bars (train rows {sp.start}..{sp.stop - 1}).",
        f"- Single envs: ours `TradingEnv(..., mode='eval')` on the train split, one episode "
        f"from its first row with a full window to the split's end ({ep.get(OURS_15, 0):,} steps "
        f"with 15 columns, {ep.get(OURS_2, 0):,} with 2); gym-anytrading `ForexEnv(df, "
        f"window_size={WINDOW}, frame_bound=(that row, {sp.stop}))`: the same rows and steps, "
        "with its own 2 columns or, via its `_process_data`, our 15 scaled columns (float32).",
        f"- Batch envs: episodes of {bench.full.cfg.env.episode_bars} bars from random rows of "
        "the train split (`mode='train'`).",
        f"- Env runs: {a.runs} of each, interleaved, after one untimed pass; single envs "
        f"{a.steps:,} `env.step` calls a run (random actions, pre-drawn, reset at an episode's "
        f"end); batch envs {a.batch_steps:,} env-steps a run (`step_async` + `step_wait`, "
        "auto-reset). Spread = (max - min) / median of the times.",
        "",
        "### Single env against gym-anytrading, like for like (issue 18's aim: >= 1.5x at 15 "
        "columns)",
        "",
        *single_lines(bench),
        "",
        "### Aims (issue 4)",
        "",
        *goal_lines(bench),
        "",
        f"Verdict: {verdict(bench)}",
        "",
        "### Environment steps",
        "",
        *table_lines(bench, ENV_ORDER, "steps"),
    ]
    if any(n in bench.results for n in PPO_ORDER):
        lines += [
            "",
            "### PPO training",
            "",
            f"`PPO('MlpPolicy', venv, n_steps={PPO_N_STEPS}, device='cpu', seed={SEED})` "
            "(batch_size 64, 10 epochs: SB3's defaults), `torch.set_num_threads(1)`; each model "
            f"trained one rollout untimed, then {a.ppo_runs} timed runs (interleaved) of "
            f"`learn({a.ppo_timesteps}, reset_num_timesteps=False)`; environments from "
            "`make_env(..., rank=i)`.",
            "",
            *table_lines(bench, PPO_ORDER, "timesteps"),
        ]
    lines += [
        "",
        "### Analysis",
        "",
        "Per-step figures below: the fastest run of each measurement and the fastest sample "
        "of each part timed alone (the machine's noise only adds time).",
        "",
        *(f"- {x}" for x in analysis(bench)),
    ]
    if bench.checks:
        lines += [
            "",
            "### Checks",
            "",
            "| check | outcome |",
            "|---|---|",
            *(f"| {what} | {outcome} |" for what, outcome in bench.checks),
        ]
    if bench.notes:
        lines += ["", "### Notes", "", *(f"- {n}" for n in bench.notes)]
    return "\n".join(lines)


HEADER = """# Benchmark results

Written by the benchmarks' `--write-results` (`make bench` runs them all). Sections between
`bench:begin`/`bench:end` markers are regenerated; text outside them is kept.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began, load0 = time.perf_counter(), os.getloadavg()[0]
    bars = load_bars(args.bars)
    small, full = Setup.build(bars, SMALL_COLUMNS), Setup.build(bars, None)
    check(len(full.data.columns) == 15, f"default features: {len(full.data.columns)} columns")
    log(f"data: {len(bars):,} H1 bars; columns {small.data.columns} and {len(full.data.columns)}")
    bench = Bench(args, small, full)
    forex_env = import_forex_env()
    if forex_env is None:
        log(GYM_ANYTRADING_MISSING)
        bench.notes.append("gym-anytrading not installed: its row skipped (`pip install it`).")
    bench.parity()
    bench.env_steps(forex_env)
    if args.quick:
        bench.notes.append("`--quick`: a smoke check, too few runs and steps for figures.")
    if not args.skip_ppo:
        bench.ppo()
    seconds, load1 = time.perf_counter() - began, os.getloadavg()[0]
    load = (f"{load0:.2f}", f"{load1:.2f}")
    text = render(bench, machine(), command_line("bench.rl_bench", argv), seconds, load)
    publish("rl", text, HEADER, args.write_results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
