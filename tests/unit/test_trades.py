"""One definition of a trade (``backtest.trades``): round trips from flat to flat, a partial
reduction inside its trade, a position open at the end counted, MAE/MFE over the held bars
only; the same in the Backtrader runner, the vectorised engine, the metrics and the RL count."""

from __future__ import annotations

import math
from typing import Any

import backtrader as bt
import numpy as np
import pytest

from tradewind.backtest.bt_engine import load_strategy, run_backtrader
from tradewind.backtest.metrics import compute_metrics
from tradewind.backtest.result import Fill
from tradewind.backtest.trades import count_round_trips, count_trades, trades_from_fills
from tradewind.backtest.vector import run_vector
from tradewind.config.backtest import BacktestConfig, FillTiming, Sizing, StrategySpec
from tradewind.domain import Timeframe
from tradewind.domain.series import BarSeries

H = 3_600_000_000
T0 = 1_704_067_200_000_000
OPEN = [1.00, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09]
CLOSE = [1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09, 1.10]
HIGH = [max(o, c) + 0.005 for o, c in zip(OPEN, CLOSE, strict=True)]
LOW = [min(o, c) - 0.005 for o, c in zip(OPEN, CLOSE, strict=True)]


def bars(o=OPEN, h=HIGH, lo=LOW, c=CLOSE) -> BarSeries:
    n = len(c)
    f = lambda x: np.asarray(x, dtype=np.float64)  # noqa: E731
    return BarSeries(T0 + H * np.arange(n, dtype=np.int64), f(o), f(h), f(lo), f(c), np.ones(n))


def cfg(**kw: Any) -> BacktestConfig:
    base: dict[str, Any] = dict(
        name="t",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="x"),),
        cash=10_000.0,
        sizing=Sizing(value=1000.0),
    )
    base.update(kw)
    return BacktestConfig(**base)


class Targets(bt.Strategy):
    """Targets ``signal[i] * 1000`` units on bar i's close (a NaN keeps the position)."""

    params = (("signal", ()),)

    def next(self) -> None:
        i = len(self.data) - 1
        s = self.p.signal[i]
        if not math.isnan(s):
            self.order_target_size(target=s * 1000.0)


def both(signal: list[float], config: BacktestConfig) -> tuple[Any, Any]:
    b = {"EUR_USD": bars()}
    ours = run_backtrader(b, {}, Targets, {"signal": tuple(signal)}, config, "t")
    vec = run_vector(b, {"EUR_USD": np.asarray(signal)}, config, "t")
    return ours, vec


def position_path(fills: list[Fill], n: int) -> np.ndarray:
    units = np.zeros(n + 1)  # units[0]: before the first bar
    for f in fills:
        units[1 + int(np.searchsorted(bars().ts, f.ts_us)) :] += f.units
    return units


def test_a_partial_reduction_stays_inside_its_trade() -> None:
    # 1000 bought at bar 2's open, 600 sold at bar 4's, the last 400 at bar 6's: one trade
    signal = [math.nan, 1.0, math.nan, 0.4, math.nan, 0.0, math.nan, 0.0, 0.0, 0.0]
    ours, vec = both(signal, cfg())
    assert [f.units for f in ours.fills] == [1000.0, -600.0, -400.0]
    (t,) = ours.trades
    assert (t.units, t.closed, t.exit_reason, t.bars_held) == (1000.0, True, "signal", 4)
    assert t.entry_price == OPEN[2]
    assert t.exit_price == pytest.approx((600 * OPEN[4] + 400 * OPEN[6]) / 1000)
    assert t.pnl == pytest.approx(600 * (OPEN[4] - OPEN[2]) + 400 * (OPEN[6] - OPEN[2]))
    assert ours.trades == vec.trades  # the vectorised engine to the bit
    m = compute_metrics(ours, 6240.0)
    assert m["trades"] == 1.0 == count_trades(ours.trades)
    assert count_round_trips(position_path(ours.fills, 10)) == 1


def test_a_reversal_ends_one_trade_and_opens_the_next() -> None:
    signal = [math.nan, 1.0, math.nan, -0.5, math.nan, 0.0, math.nan, 0.0, 0.0, 0.0]
    ours, vec = both(signal, cfg(costs={"commission_per_unit": 0.01}))
    assert [f.units for f in ours.fills] == [1000.0, -1500.0, 500.0]
    long, short = ours.trades
    assert (long.units, short.units) == (1000.0, -500.0)
    # the reversing fill's commission split by units: 1000 of 1500 to the long
    assert long.commission == pytest.approx(10.0 + 15.0 * 1000 / 1500)
    assert short.commission == pytest.approx(15.0 * 500 / 1500 + 5.0)
    assert ours.trades == vec.trades
    assert count_round_trips(position_path(ours.fills, 10)) == 2 == len(ours.trades)


def test_a_position_open_at_the_end_is_one_trade_everywhere() -> None:
    b = {"EUR_USD": bars()}
    r = run_backtrader(b, {}, load_strategy("buy_and_hold"), {}, cfg(), "bh")
    (t,) = r.trades
    assert (t.closed, t.exit_reason, t.exit_ts_us, t.exit_price) == (
        False,
        "end_of_data",
        None,
        None,
    )
    # marked to the last close: its P&L is what the equity curve made
    assert t.pnl == pytest.approx(r.equity[-1] - r.equity[0])
    m = compute_metrics(r, 6240.0)
    assert m["trades"] == 1.0
    assert m["win_rate"] == 1.0
    assert count_round_trips(position_path(r.fills, 10)) == 1


def test_count_round_trips() -> None:
    assert count_round_trips([]) == 0
    assert count_round_trips([0, 0, 0]) == 0
    assert count_round_trips([0, 1, 0.5, 0.2, 0]) == 1  # reductions are not trades
    assert count_round_trips([0, 1, 2, -1, -0.5, 0, 1]) == 3  # a reversal opens the next
    assert count_round_trips([1, 1, 0]) == 1  # held from the start


def test_mae_mfe_only_over_the_bars_held() -> None:
    # long from bar 2's open to bar 5's open; bar 5 then crashes to 0.50 and spikes to 2.00,
    # after the position was closed: that range is not the trade's
    lo = list(LOW)
    hi = list(HIGH)
    lo[5], hi[5] = 0.50, 2.00
    b = {"EUR_USD": bars(h=hi, lo=lo)}
    signal = [math.nan, 1.0, math.nan, math.nan, 0.0, math.nan, 0.0, 0.0, 0.0, 0.0]
    r = run_backtrader(b, {}, Targets, {"signal": tuple(signal)}, cfg(), "t")
    (t,) = r.trades
    assert t.entry_price == OPEN[2]
    assert t.exit_price == OPEN[5]
    held_lo, held_hi = min(LOW[2:5]), max(HIGH[2:5])
    assert t.mae == pytest.approx(held_lo - OPEN[2])
    assert t.mfe == pytest.approx(held_hi - OPEN[2])
    assert t.mae_pips(-4) == pytest.approx((held_lo - OPEN[2]) * 1e4)
    assert t.mfe_pips(-4) == pytest.approx((held_hi - OPEN[2]) * 1e4)
    assert r.trades == run_vector(b, {"EUR_USD": np.asarray(signal)}, cfg(), "t").trades


def test_mae_mfe_with_fills_at_the_close() -> None:
    # next_close: in at bar 2's close (bar 2's range came before), out at bar 5's close (all
    # of bar 5 was held)
    lo = list(LOW)
    hi = list(HIGH)
    lo[2], hi[2] = 0.50, 2.00
    lo[5] = 0.90
    b = {"EUR_USD": bars(h=hi, lo=lo)}
    signal = [math.nan, 1.0, math.nan, math.nan, 0.0, math.nan, 0.0, 0.0, 0.0, 0.0]
    config = cfg(fill=FillTiming.NEXT_CLOSE)
    r = run_backtrader(b, {}, Targets, {"signal": tuple(signal)}, config, "t")
    (t,) = r.trades
    assert t.entry_price == CLOSE[2]
    assert t.exit_price == CLOSE[5]
    assert t.mae == pytest.approx(0.90 - CLOSE[2])
    assert t.mfe == pytest.approx(max(HIGH[3:6]) - CLOSE[2])
    assert r.trades == run_vector(b, {"EUR_USD": np.asarray(signal)}, config, "t").trades


def test_mae_never_above_and_mfe_never_below_the_realised_move() -> None:
    rng = np.random.default_rng(7)
    n = 400
    close = 1.1 + np.cumsum(rng.normal(0, 0.001, n))
    open_ = np.concatenate(([1.1], close[:-1])) + rng.normal(0, 0.0003, n)
    high = np.maximum(open_, close) + rng.uniform(0, 0.002, n)
    low = np.minimum(open_, close) - rng.uniform(0, 0.002, n)
    b = {"EUR_USD": bars(open_, high, low, close)}
    signal = rng.choice([-1.0, -0.5, 0.0, 0.3, 1.0, math.nan], n)
    for fill in FillTiming:
        r = run_vector(b, {"EUR_USD": signal}, cfg(fill=fill), "t")
        assert len(r.trades) == count_round_trips(position_path_of(r.fills, b["EUR_USD"]))
        for t in r.trades:
            assert t.mae <= 0.0 <= t.mfe
            if t.exit_price is not None:
                # the average exit lies within the excursions from the average entry
                move = (t.exit_price - t.entry_price) * (1 if t.units > 0 else -1)
                assert t.mae - 1e-12 <= move <= t.mfe + 1e-12
        fills = r.fills
        again = trades_from_fills(fills, b, "t", {f.order_ref: _kind(fill) for f in fills})
        assert again == r.trades


def _kind(fill: FillTiming) -> str:
    return "close" if fill is FillTiming.NEXT_CLOSE else "market"


def position_path_of(fills: list[Fill], b: BarSeries) -> np.ndarray:
    units = np.zeros(len(b) + 1)
    for f in fills:
        units[1 + int(np.searchsorted(b.ts, f.ts_us)) :] += f.units
    return units
