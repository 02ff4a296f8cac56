"""Equity parity: a scripted target sequence through the environment and through Backtrader
(``order_target_size(target * max_units)`` per bar, the same costs and fill timing) gives
the same equity at every bar's close, and the same fills."""

from __future__ import annotations

import math
from dataclasses import replace

import backtrader as bt
import numpy as np
import pytest

from tradewind.backtest.bt_engine import run_backtrader
from tradewind.backtest.trades import count_round_trips, count_trades
from tradewind.config.backtest import BacktestConfig, FillTiming, StrategySpec
from tradewind.rl.contract import build_contract
from tradewind.rl.env import TradingEnv

COSTS = {
    "commission_per_unit": 0.00002,
    "commission_bps": 0.3,
    "spread": "fixed",
    "spread_pips": 1.2,
    "slippage_bps": 0.2,
}


class Scripted(bt.Strategy):
    """Trade to ``targets[i] * max_units`` on bar i's close (NaN: no decision), with the
    model strategy's at-target rule."""

    params = (("targets", None), ("max_units", 1.0))

    def next(self) -> None:
        target = self.p.targets[len(self.data) - 1]
        if math.isnan(target):
            return
        units = target * self.p.max_units
        if abs(units - self.getposition(self.data).size) <= 1e-9 * max(1.0, self.p.max_units):
            return
        self.order_target_size(target=units)


def scripted_targets(kind: str, n: int) -> list[float]:
    rng = np.random.default_rng(3)
    if kind == "discrete":
        return rng.choice([0.0, 1.0, -1.0], size=n, p=[0.5, 0.25, 0.25]).tolist()
    # fractional targets held for a few bars: adds (average price), partial reductions, flips
    levels = np.round(rng.uniform(-1, 1, size=n // 4 + 1) * 4) / 4
    return np.repeat(levels, 4)[:n].tolist()


@pytest.mark.parametrize("precision", [None, 0], ids=["unrounded", "whole-units"])
@pytest.mark.parametrize("fill", ["next_open", "next_close"])
@pytest.mark.parametrize("kind", ["discrete", "continuous"])
def test_env_equity_equals_backtrader(data, make_cfg, fill, kind, precision) -> None:
    env_cfg = {"costs": COSTS, "fill": fill, "actions": {"kind": kind}}
    if precision is not None:  # 0.25 of 1001 units is 250.25: the order rounds to 250
        env_cfg["max_units"] = 1001.0
        data = replace(data, units_precision=precision)
    cfg = make_cfg(env=env_cfg)
    env = TradingEnv(data, build_contract(cfg, data), cfg.env, "validation", "eval")
    _, info = env.reset()
    first, stop = env.first_row, env.stop_row
    targets = scripted_targets(kind, stop - 1 - first)
    index = {0.0: 0, 1.0: 1, -1.0: 2}
    equity, fills, prev = [info["equity"]], [], 0.0
    units = [info["units"]]
    for t in targets:
        action = index[t] if kind == "discrete" else np.array([t], dtype=np.float32)
        _, _, term, trunc, info = env.step(action)
        equity.append(info["equity"])
        units.append(info["units"])
        if info["units"] != prev:
            fills.append((info["row"], info["units"] - prev))
        prev = info["units"]
    assert trunc
    assert not term

    plan = [math.nan] * stop
    plan[first : stop - 1] = [float(np.float32(t)) for t in targets]
    bars = data.bars.take(np.arange(stop))
    bt_cfg = BacktestConfig(
        name="parity",
        instruments=("EUR_USD",),
        timeframe="H1",
        strategies=(StrategySpec(name="scripted"),),
        cash=cfg.env.cash,
        costs=cfg.env.costs,
        fill=FillTiming(fill),
    )
    result = run_backtrader(
        {"EUR_USD": bars},
        {},
        Scripted,
        {"targets": plan, "max_units": cfg.env.max_units},
        bt_cfg,
        "scripted",
        pip_locations={"EUR_USD": data.pip_location},
        units_precision=None if precision is None else {"EUR_USD": precision},
    )
    bt_equity = result.equity[first:stop]
    assert np.max(np.abs(bt_equity - np.array(equity))) <= 1e-9 * cfg.env.cash
    assert np.all(result.equity[:first] == cfg.env.cash)
    row_of = {int(ts): i for i, ts in enumerate(bars.ts)}
    bt_fills = [(row_of[f.ts_us], f.units) for f in result.fills]
    assert len(bt_fills) == len(fills) > 20
    for (r1, u1), (r2, u2) in zip(bt_fills, fills, strict=True):
        assert r1 == r2
        assert u1 == pytest.approx(u2, abs=1e-6)
        if precision is not None:
            assert u1 == u2 == round(u2, precision)
    assert info["fees"] == pytest.approx(sum(f.commission for f in result.fills), rel=1e-9)
    # one trade count: what RL training logs (rollout_metrics) is the backtest's count, the
    # continuous case's partial reductions and adds staying inside their trades
    assert count_round_trips(units) == count_trades(result.trades) > 5
