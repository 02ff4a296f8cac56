"""The vectorised engine and the Backtrader runner agree on synthetic bars: same trades, same
equity curve, long-only and long-short, with and without costs, next open and next close."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
import talib

from tradewind.backtest.bt_engine import load_strategy, run_backtrader
from tradewind.backtest.result import Trade
from tradewind.backtest.vector import run_vector, sma_crossover_signals
from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig, Costs, FillTiming, Sizing, StrategySpec
from tradewind.domain import Timeframe
from tradewind.domain.series import BarSeries
from tradewind.marketdata.synthetic import generate_bars

COSTS = Costs(
    commission_per_unit=0.00002,
    commission_bps=0.5,
    spread="fixed",
    spread_pips=1.2,
    slippage_bps=0.3,
)


@cache
def data() -> tuple[BarSeries, dict[str, np.ndarray]]:
    df = generate_bars(SyntheticConfig(timeframe=Timeframe.H1, bars=5000, seed=3))
    ts = df["ts"].astype("int64").to_numpy()
    col = lambda c: df[c].to_numpy(dtype=np.float64)  # noqa: E731
    bars = BarSeries(ts, col("open"), col("high"), col("low"), col("close"), col("volume"))
    feats = {"sma_fast": talib.SMA(bars.close, 10), "sma_slow": talib.SMA(bars.close, 30)}
    return bars, feats


def test_signals_match_the_hand_definition() -> None:
    f = np.array([np.nan, 1.0, 2.0, 2.0, 1.0, 1.0, 1.5, 3.0])
    s = np.array([np.nan, np.nan, 1.0, 1.0, 1.5, 1.0, 1.0, 1.0])
    # bar 2: prev slow NaN, no cross; bar 4 below; bar 5 equal (no cross); bar 6 above.
    assert sma_crossover_signals(f, s).tolist() == [0, 0, 0, 0, 0, 0, 1, 1]
    assert sma_crossover_signals(f, s, allow_short=True).tolist() == [0, 0, 0, 0, -1, -1, 1, 1]


@pytest.mark.parametrize("allow_short", [False, True])
@pytest.mark.parametrize("costs", [Costs(), COSTS], ids=["free", "costs"])
@pytest.mark.parametrize("fill", [FillTiming.NEXT_OPEN, FillTiming.NEXT_CLOSE])
def test_vector_matches_backtrader(allow_short: bool, costs: Costs, fill: FillTiming) -> None:
    bars, feats = data()
    cfg = BacktestConfig(
        name="parity",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="sma_crossover"),),
        cash=100_000.0,
        sizing=Sizing(value=10_000.0),
        costs=costs,
        fill=fill,
    )
    params = {"allow_short": allow_short}
    bt_res = run_backtrader(
        {"EUR_USD": bars}, {"EUR_USD": feats}, load_strategy("sma_crossover"), params, cfg, "sma"
    )
    sig = sma_crossover_signals(feats["sma_fast"], feats["sma_slow"], allow_short)
    vec = run_vector({"EUR_USD": bars}, {"EUR_USD": sig}, cfg, "sma", params)

    assert len(bt_res.trades) > 50

    def key(t: Trade) -> tuple[object, ...]:
        return (t.entry_ts_us, t.exit_ts_us, t.units, t.entry_price, t.exit_price, t.closed)

    assert [key(t) for t in vec.trades] == [key(t) for t in bt_res.trades]
    assert [t.exit_reason for t in vec.trades] == [t.exit_reason for t in bt_res.trades]
    np.testing.assert_allclose(
        [t.pnl for t in vec.trades], [t.pnl for t in bt_res.trades], rtol=1e-9, atol=1e-9
    )
    assert [(f.ts_us, f.units, f.price) for f in vec.fills] == [
        (f.ts_us, f.units, f.price) for f in bt_res.fills
    ]
    np.testing.assert_allclose(
        [f.commission for f in vec.fills], [f.commission for f in bt_res.fills], rtol=1e-12
    )
    for cost in ("spread_cost", "slippage_cost"):
        np.testing.assert_allclose(
            [getattr(f, cost) for f in vec.fills],
            [getattr(f, cost) for f in bt_res.fills],
            rtol=1e-12,
        )
    assert all(f.spread_cost > 0 and f.slippage_cost > 0 for f in bt_res.fills) == (costs == COSTS)
    np.testing.assert_array_equal(vec.ts_us, bt_res.ts_us)
    np.testing.assert_allclose(vec.equity, bt_res.equity, rtol=1e-9)
    np.testing.assert_allclose(vec.exposure, bt_res.exposure, rtol=1e-9, atol=1e-15)


def test_vector_orders_on_request_are_the_fills_as_market_orders() -> None:
    from tradewind.backtest.vector import run_vector
    from tradewind.config.backtest import BacktestConfig, StrategySpec
    from tradewind.domain import BarSeries, Timeframe

    h = 3_600_000_000
    ts = 1_704_067_200_000_000 + h * np.arange(6, dtype=np.int64)
    px = np.array([1.0, 1.1, 1.2, 1.1, 1.0, 1.05])
    bars = {"EUR_USD": BarSeries(ts, px, px + 0.01, px - 0.01, px, np.ones(6))}
    cfg = BacktestConfig(
        name="t",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="x"),),
    )
    target = {"EUR_USD": np.array([0.0, 1.0, 1.0, 0.0, 0.0, 0.0])}
    plain = run_vector(bars, target, cfg, "x")
    assert plain.orders == []
    with_orders = run_vector(bars, target, cfg, "x", orders=True)
    assert [
        (o.units, o.created_ts_us, o.done_ts_us, o.kind, o.status) for o in with_orders.orders
    ] == [(f.units, f.ts_us - h, f.ts_us, "market", "completed") for f in with_orders.fills]
