"""Deterministic evaluation of a policy over a whole split, through the trading environment.

The rollout feeds the policy (with the environment's action masks, for a policy that uses
them) the observation of each row from the split's first row with a
full window to its last row, and steps the environment (``mode="eval"``) with the policy's
target, so fills, costs and equity are the environment's (and so the backtest's). The
decision on the split's last row is recorded but never fills (its bar is outside the split).
A policy that does not read its position gets all its observations in one batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.backtest import metrics as m
from tradewind.backtest.trades import count_round_trips
from tradewind.config.models import EnvConfig
from tradewind.policy import ModelContract, ModelData, Policy, masked_targets
from tradewind.rl.env import TradingEnv

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Rollout:
    """Per row of the evaluated part of the split (``rows[0]`` = its first full window):
    ``ts`` the bar's open time (UTC µs); ``targets`` the policy's target decided on the bar's
    close; ``actions`` the discrete action index of that target (-1 if it is none of them)
    or, for continuous contracts, the target; ``units`` and ``equity`` after the bar's fill,
    marked at its close. ``invalid_actions``: decisions refused by ``min_hold_bars``."""

    rows: I64
    ts: I64
    targets: F64
    actions: F64
    units: F64
    equity: F64
    close: F64
    fees: float
    invalid_actions: int
    max_units: float


def _action_index(contract: ModelContract, target: float) -> float:
    if contract.actions.kind != "discrete":
        return target
    targets = contract.actions.targets
    return float(targets.index(target)) if target in targets else -1.0


def rollout(
    policy: Policy, data: ModelData, contract: ModelContract, env_cfg: EnvConfig, split: str
) -> Rollout:
    """Run ``policy`` deterministically over ``split`` of ``data``."""
    env = TradingEnv(data, contract, env_cfg, split, mode="eval")
    obs, info = env.reset()
    batch = None if contract.position_state else policy.targets(env.observations())
    n = env.stop_row - env.first_row
    targets, units, equity = np.empty(n), np.empty(n), np.empty(n)
    units[0], equity[0] = info["units"], info["equity"]
    fees, invalid, done, k = 0.0, 0, False, 0
    while True:
        if batch is not None:
            target = float(batch[k])
        else:
            target = float(masked_targets(policy, obs[None], env.action_masks()[None])[0])
        targets[k] = target
        if done or k == n - 1:
            break
        obs, _, terminated, truncated, info = env.step_target(target)
        k += 1
        units[k], equity[k] = info["units"], info["equity"]
        fees, invalid = info["fees"], info["invalid_actions"]
        done = terminated or truncated
    rows = np.arange(env.first_row, env.first_row + k + 1)
    return Rollout(
        rows=rows,
        ts=np.asarray(data.bars.ts[rows], dtype=np.int64),
        targets=targets[: k + 1],
        actions=np.array([_action_index(contract, t) for t in targets[: k + 1]]),
        units=units[: k + 1],
        equity=equity[: k + 1],
        close=np.asarray(data.bars.close[rows], dtype=np.float64),
        fees=fees,
        invalid_actions=invalid,
        max_units=contract.max_units,
    )


def rollout_metrics(r: Rollout, periods_per_year: float) -> dict[str, float]:
    """total_return, sharpe, max_drawdown (<= 0), trades (``backtest.trades.count_round_trips``:
    round trips, a position held at the end included, partial changes of size not counted, as
    in every backtest), exposure (mean gross position value over equity at each close), fees,
    invalid_actions."""
    returns = m.simple_returns(r.equity)
    gross = np.abs(r.units) * r.close
    exposure = float(np.mean(gross / r.equity)) if len(r.equity) else math.nan
    return {
        "total_return": m.total_return(r.equity),
        "sharpe": m.sharpe(returns, periods_per_year),
        "max_drawdown": m.max_drawdown(r.equity),
        "trades": float(count_round_trips(r.units)),
        "exposure": exposure,
        "fees": float(r.fees),
        "invalid_actions": float(r.invalid_actions),
    }
