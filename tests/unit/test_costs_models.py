"""Per-fill cost models and vol-target sizing on the Backtrader path, on hand-made bars:
spread from bid/ask data, volume-scaled slippage with its cap, and vol-target sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradewind.backtest.bt_broker import realised_vol, vol_target_units
from tradewind.backtest.bt_engine import load_strategy, run_backtrader
from tradewind.backtest.costs import SpreadSeries, bar_cost_model, cost_model
from tradewind.config.backtest import (
    BacktestConfig,
    Costs,
    FillTiming,
    Sizing,
    StrategySpec,
)
from tradewind.domain import Timeframe
from tradewind.domain.errors import Unsupported
from tradewind.domain.series import BarSeries

NAN = math.nan
H = 3_600_000_000
T0 = 1_704_067_200_000_000  # 2024-01-01 00:00 UTC

# fast crosses above slow at bar 3 (entry fills on bar 4), below at bar 6 (exit on bar 7)
OPEN = [1.00, 1.01, 1.02, 1.03, 1.20, 1.05, 1.06, 1.30, 1.08, 1.09]
CLOSE = [1.01, 1.02, 1.03, 1.04, 1.25, 1.06, 1.07, 1.35, 1.09, 1.10]
FAST = [NAN, NAN, 1.0, 2.0, 2.0, 2.0, 0.5, 0.5, 0.5, 0.5]
SLOW = [NAN, NAN, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def make_bars(o, c, volume=None) -> BarSeries:
    n = len(c)
    ts = T0 + H * np.arange(n, dtype=np.int64)
    o, c = np.asarray(o, dtype=float), np.asarray(c, dtype=float)
    v = np.full(n, 100.0) if volume is None else np.asarray(volume, dtype=float)
    return BarSeries(ts, o, np.maximum(o, c) + 0.01, np.minimum(o, c) - 0.01, c, v)


def cfg(**kw) -> BacktestConfig:
    base = dict(
        name="t",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="x"),),
        cash=10_000.0,
        sizing=Sizing(value=1000.0),
    )
    base.update(kw)
    return BacktestConfig(**base)


def run(config: BacktestConfig, bars: BarSeries, **kw):
    feats = {"EUR_USD": {"sma_fast": np.array(FAST), "sma_slow": np.array(SLOW)}}
    strat = load_strategy("sma_crossover")
    return run_backtrader({"EUR_USD": bars}, feats, strat, {}, config, "sma", **kw)


SPREAD_OPEN = np.array([1, 2, 3, 4, 6, 5, 7, 8, 9, 10], dtype=float) * 1e-4
SPREAD_CLOSE = np.array([11, 12, 13, 14, 16, 15, 17, 18, 19, 20], dtype=float) * 1e-4


def test_data_spread_pays_half_the_fill_bars_open_spread_each_side() -> None:
    spreads = {"EUR_USD": SpreadSeries(SPREAD_OPEN, SPREAD_CLOSE)}
    r = run(cfg(costs=Costs(spread="data")), make_bars(OPEN, CLOSE), spreads=spreads)
    assert [(f.ts_us, f.units) for f in r.fills] == [(T0 + 4 * H, 1000.0), (T0 + 7 * H, -1000.0)]
    assert r.fills[0].price == 1.20 + 6e-4 / 2
    assert r.fills[1].price == 1.30 - 8e-4 / 2
    (t,) = r.trades
    assert t.pnl == pytest.approx(1000.0 * ((1.30 - 4e-4) - (1.20 + 3e-4)), abs=1e-9)
    assert r.equity[-1] == pytest.approx(10_000.0 + t.pnl, abs=1e-9)


def test_data_spread_with_next_close_pays_the_close_spread() -> None:
    spreads = {"EUR_USD": SpreadSeries(SPREAD_OPEN, SPREAD_CLOSE)}
    c = cfg(costs=Costs(spread="data"), fill=FillTiming.NEXT_CLOSE)
    r = run(c, make_bars(OPEN, CLOSE), spreads=spreads)
    assert [(f.ts_us, f.price) for f in r.fills] == [
        (T0 + 4 * H, 1.25 + 16e-4 / 2),
        (T0 + 7 * H, 1.35 - 18e-4 / 2),
    ]


def test_data_spread_without_spreads_is_refused() -> None:
    with pytest.raises(Unsupported, match="spread='data' needs the bid/ask spreads"):
        run(cfg(costs=Costs(spread="data")), make_bars(OPEN, CLOSE))


def test_spread_series_from_bid_ask() -> None:
    bid = make_bars([1.0, 2.0], [1.5, 2.5])
    ask = make_bars([1.25, 2.5], [2.0, 3.5])
    s = SpreadSeries.from_bid_ask(bid, ask)
    np.testing.assert_array_equal(s.open, [0.25, 0.5])
    np.testing.assert_array_equal(s.close, [0.5, 1.0])
    with pytest.raises(ValueError, match="same times"):
        SpreadSeries.from_bid_ask(bid, make_bars([1.0], [1.0]))


def test_volume_scaled_slippage_uses_the_fill_bars_volume_and_is_capped() -> None:
    # entry on bar 4: 1 bps * 1000 / 100_000 = 0.01 bps; exit on bar 7: 1 * 1000 / 10 = 100
    # bps, capped at 50. The decision bars' volumes (3 and 6: tiny) must not matter.
    volume = [100.0, 100.0, 100.0, 1.0, 100_000.0, 100.0, 1.0, 10.0, 100.0, 100.0]
    costs = Costs(slippage="volume_scaled", slippage_bps=1.0, slippage_max_bps=50.0)
    r = run(cfg(costs=costs), make_bars(OPEN, CLOSE, volume))
    assert r.fills[0].price == 1.20 + 1.20 * (0.01 / 1e4)
    assert r.fills[1].price == 1.30 - 1.30 * (50.0 / 1e4)


def test_volume_scaled_slip_arithmetic() -> None:
    m = bar_cost_model(Costs(slippage="volume_scaled", slippage_bps=2.0, slippage_max_bps=5.0))
    assert m.slip_for(500.0, 1000.0) == 2.0 * 500 / 1000 / 1e4
    assert m.slip_for(-500.0, 1000.0) == 2.0 * 500 / 1000 / 1e4  # |units|
    assert m.slip_for(10_000.0, 1000.0) == 5.0 / 1e4  # capped
    assert m.slip_for(1.0, 0.0) == 5.0 / 1e4  # no volume: the cap
    assert m.slip_for(1.0, NAN) == 5.0 / 1e4
    assert m.fill_price(2.0, True, units=500.0, volume=1000.0) == 2.0 + 2.0 * 1e-4
    assert m.fill_price(2.0, False, units=500.0, volume=1000.0) == 2.0 - 2.0 * 1e-4
    fixed = bar_cost_model(Costs(slippage_bps=3.0, spread="fixed", spread_pips=2.0))
    assert fixed.fill_price(1.5, True, units=1e9, volume=1.0) == fixed.price(1.5, True)


def test_vectorised_cost_model_still_refuses_the_per_fill_models() -> None:
    with pytest.raises(Unsupported, match="vectorised"):
        cost_model(Costs(spread="data"))
    with pytest.raises(Unsupported, match="vectorised"):
        cost_model(Costs(slippage="volume_scaled", slippage_bps=1.0))


VT_CLOSE = [1.00, 1.02, 0.99, 1.03, 1.01, 1.04, 1.00, 1.02, 1.05, 1.03]


def test_vol_target_size_from_a_known_series() -> None:
    ppy = 6240.0
    sizing = Sizing(method="vol_target", value=0.1, vol_lookback=3)
    r = run(cfg(sizing=sizing), make_bars(VT_CLOSE, VT_CLOSE), periods_per_year=ppy)
    # decided on bar 3's close from the log returns of closes 0..3
    lr = np.diff(np.log(VT_CLOSE[:4]))
    vol = float(np.std(lr, ddof=1)) * math.sqrt(ppy)
    expected = 0.1 / vol * 10_000.0 / VT_CLOSE[3]
    assert r.fills[0].ts_us == T0 + 4 * H
    assert r.fills[0].units == pytest.approx(expected, rel=1e-12)
    assert realised_vol(VT_CLOSE[:4], 3, ppy) == pytest.approx(vol, rel=1e-15)


def test_vol_target_has_no_lookahead() -> None:
    ppy = 6240.0
    sizing = Sizing(method="vol_target", value=0.1, vol_lookback=3)
    later = [*VT_CLOSE[:4], 5.0, 0.2, 9.0, 0.1, 3.0, 0.5]  # wild bars after the decision
    a = run(cfg(sizing=sizing), make_bars(VT_CLOSE, VT_CLOSE), periods_per_year=ppy)
    b = run(cfg(sizing=sizing), make_bars(later, later), periods_per_year=ppy)
    assert a.fills[0].units == b.fills[0].units


def test_vol_target_without_enough_bars_or_vol_takes_no_position() -> None:
    sizing = Sizing(method="vol_target", value=0.1, vol_lookback=5)  # bar 3 has 3 returns
    r = run(cfg(sizing=sizing), make_bars(VT_CLOSE, VT_CLOSE), periods_per_year=6240.0)
    assert r.fills == []
    assert math.isnan(realised_vol([1.0, 1.1], 2, 252.0))
    assert vol_target_units(0.1, NAN, 10_000.0, 1.0) == 0.0
    assert vol_target_units(0.1, 0.0, 10_000.0, 1.0) == 0.0
    assert vol_target_units(0.1, 0.2, 10_000.0, 2.0) == pytest.approx(2500.0)


def test_vol_target_needs_periods_per_year() -> None:
    sizing = Sizing(method="vol_target", value=0.1, vol_lookback=3)
    with pytest.raises(Unsupported, match="periods_per_year"):
        run(cfg(sizing=sizing), make_bars(VT_CLOSE, VT_CLOSE))
