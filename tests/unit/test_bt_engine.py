"""The Backtrader runner on small hand-made bars: timing, costs, stops, several instruments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradewind.backtest.bt_engine import StrategyParamError, load_strategy, run_backtrader
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


def make_bars(o, h, lo, c) -> BarSeries:
    n = len(c)
    ts = T0 + H * np.arange(n, dtype=np.int64)
    f = lambda x: np.asarray(x, dtype=np.float64)  # noqa: E731
    return BarSeries(ts, f(o), f(h), f(lo), f(c), np.full(n, 100.0))


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


# Closes and hand-set SMAs: fast crosses above slow at bar 3, below at bar 6, above at 8.
OPEN = [1.00, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09]
CLOSE = [1.01, 1.02, 1.03, 1.04, 1.05, 1.06, 1.07, 1.08, 1.09, 1.10]
HIGH = [max(o, c) + 0.005 for o, c in zip(OPEN, CLOSE, strict=True)]
LOW = [min(o, c) - 0.005 for o, c in zip(OPEN, CLOSE, strict=True)]
FAST = [NAN, NAN, 1.0, 2.0, 2.0, 2.0, 0.5, 0.5, 2.0, 2.0]
SLOW = [NAN, NAN, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def sma_run(config: BacktestConfig, **params):
    bars = {"EUR_USD": make_bars(OPEN, HIGH, LOW, CLOSE)}
    feats = {"EUR_USD": {"sma_fast": np.array(FAST), "sma_slow": np.array(SLOW)}}
    return run_backtrader(bars, feats, load_strategy("sma_crossover"), params, config, "sma")


def test_sma_crossover_decides_on_close_fills_next_open() -> None:
    r = sma_run(cfg())
    # crosses: up at 3 (fill 4 open), down at 6 (fill 7 open), up at 8 (fill 9 open)
    assert [(f.ts_us, f.units, f.price) for f in r.fills] == [
        (T0 + 4 * H, 1000.0, OPEN[4]),
        (T0 + 7 * H, -1000.0, OPEN[7]),
        (T0 + 9 * H, 1000.0, OPEN[9]),
    ]
    t0, t1 = r.trades
    assert (t0.entry_ts_us, t0.exit_ts_us, t0.units, t0.bars_held) == (
        T0 + 4 * H,
        T0 + 7 * H,
        1000.0,
        3,
    )
    assert t0.pnl == pytest.approx(1000 * (OPEN[7] - OPEN[4]))
    assert t1.closed is False
    assert t1.exit_ts_us is None
    assert len(r.equity) == len(CLOSE)
    assert r.ts_us[0] == T0
    assert r.equity[-1] == pytest.approx(
        10_000 + 1000 * (OPEN[7] - OPEN[4]) + 1000 * (CLOSE[9] - OPEN[9])
    )
    assert r.exposure[5] == pytest.approx(1000 * CLOSE[5] / r.equity[5])
    assert r.exposure[0] == 0.0


def test_sma_crossover_reverses_with_allow_short() -> None:
    r = sma_run(cfg(), allow_short=True)
    assert [f.units for f in r.fills] == [1000.0, -2000.0, 2000.0]
    assert [t.units for t in r.trades] == [1000.0, -1000.0, 1000.0]


def test_next_close_fills_at_next_bars_close() -> None:
    r = sma_run(cfg(fill=FillTiming.NEXT_CLOSE))
    assert [(f.ts_us, f.price) for f in r.fills] == [
        (T0 + 4 * H, CLOSE[4]),
        (T0 + 7 * H, CLOSE[7]),
        (T0 + 9 * H, CLOSE[9]),
    ]


def test_commission_and_half_spread_on_a_round_trip() -> None:
    costs = Costs(
        commission_per_unit=0.0001,
        commission_bps=2.0,
        spread="fixed",
        spread_pips=1.0,
        slippage_bps=1.0,
    )
    r = sma_run(cfg(costs=costs))
    half = 0.5 * 1e-4
    buy = OPEN[4] + OPEN[4] * 1e-4 + half
    sell = OPEN[7] - OPEN[7] * 1e-4 - half
    b, s = r.fills[0], r.fills[1]
    assert b.price == pytest.approx(buy, rel=1e-15)
    assert s.price == pytest.approx(sell, rel=1e-15)
    assert b.commission == pytest.approx(1000 * 0.0001 + 1000 * buy * 2e-4)
    assert s.commission == pytest.approx(1000 * 0.0001 + 1000 * sell * 2e-4)
    # the cost breakdown of each fill: half the spread and the slippage, per unit times units
    assert (b.spread_cost, s.spread_cost) == (
        pytest.approx(1000 * half),
        pytest.approx(1000 * half),
    )
    assert b.slippage_cost == pytest.approx(1000 * OPEN[4] * 1e-4)
    assert s.slippage_cost == pytest.approx(1000 * OPEN[7] * 1e-4)
    t = r.trades[0]
    assert t.entry_price == pytest.approx(buy)
    assert t.exit_price == pytest.approx(sell)
    assert t.pnl == pytest.approx(1000 * (sell - buy) - b.commission - s.commission)
    # the account agrees: equity after the round trip (bar 7 .. 8, flat) = cash + pnl
    assert r.equity[8] == pytest.approx(10_000 + t.pnl)


def test_half_spread_is_not_capped_to_the_bar() -> None:
    # a flat bar (open = high = low) still pays the full half spread
    o = [1.0, 1.0, 1.0, 1.0, 1.2, 1.0, 1.0, 1.3, 1.0, 1.0]
    bars = {"EUR_USD": make_bars(o, o, o, o)}
    feats = {"EUR_USD": {"sma_fast": np.array(FAST), "sma_slow": np.array(SLOW)}}
    c = cfg(costs=Costs(spread="fixed", spread_pips=10.0))
    r = run_backtrader(bars, feats, load_strategy("sma_crossover"), {}, c, "sma")
    assert r.fills[0].price == pytest.approx(1.2 + 0.0005)
    assert r.fills[1].price == pytest.approx(1.3 - 0.0005)


def rsi_bars(opens, highs, lows, closes, rsi, atr):
    return make_bars(opens, highs, lows, closes), {
        "rsi_14": np.array(rsi, dtype=float),
        "atr_14": np.array(atr, dtype=float),
    }


def test_gap_through_the_stop_fills_at_the_open() -> None:
    # buy decided at bar 1 (rsi 20), close 1.00, atr 0.01: stop 0.98, take-profit 1.03.
    # bar 2 fills the entry at 1.00; bar 4 gaps down to 0.95, through the stop.
    c = [1.00, 1.00, 1.00, 0.995, 0.95, 0.95]
    o = [1.00, 1.00, 1.00, 0.995, 0.95, 0.95]
    h = [1.001, 1.001, 1.005, 0.999, 0.96, 0.96]
    lo = [0.999, 0.999, 0.99, 0.99, 0.94, 0.94]
    rsi = [40, 20, 25, 25, 40, 40]
    bars, feats = rsi_bars(o, h, lo, c, rsi, [0.01] * 6)
    r = run_backtrader(
        {"EUR_USD": bars}, {"EUR_USD": feats}, load_strategy("rsi_meanrev"), {}, cfg(), "rsi"
    )
    assert [(f.ts_us, f.units, f.price) for f in r.fills] == [
        (T0 + 2 * H, 1000.0, 1.00),
        (T0 + 4 * H, -1000.0, 0.95),  # the open, not the stop level 0.98
    ]
    # held over bars 2 and 3 (lows 0.99) and out at bar 4's open: the 0.94 low came after
    (t,) = r.trades
    assert t.mae == pytest.approx(0.95 - 1.00)
    assert t.exit_reason == "stop"


def test_two_instruments_each_use_their_own_atr() -> None:
    # both buy at bar 1 (close 1.00), fill at bar 2 open; bar 3 trades down to 0.90 intrabar
    # (open 1.00), hitting A's stop 1 - 2*0.01 = 0.98 and B's 1 - 2*0.04 = 0.92 at their levels.
    c = [1.00, 1.00, 1.00, 0.95, 0.95]
    o = [1.00, 1.00, 1.00, 1.00, 0.95]
    h = [1.001, 1.001, 1.001, 1.001, 0.96]
    lo = [0.999, 0.999, 0.999, 0.90, 0.94]
    rsi = [40, 20, 25, 25, 25]
    a, fa = rsi_bars(o, h, lo, c, rsi, [0.01] * 5)
    b, fb = rsi_bars(o, h, lo, c, rsi, [0.04] * 5)
    r = run_backtrader(
        {"A": a, "B": b},
        {"A": fa, "B": fb},
        load_strategy("rsi_meanrev"),
        {},
        cfg(instruments=("A", "B")),
        "rsi",
    )
    exits = {f.instrument: f.price for f in r.fills if f.units < 0}
    assert exits == {"A": pytest.approx(0.98), "B": pytest.approx(0.92)}
    assert {t.instrument for t in r.trades} == {"A", "B"}


def test_rsi_exit_at_mid_cancels_the_bracket() -> None:
    c = [1.00, 1.00, 1.00, 1.01, 1.01, 1.01]
    h = [x + 0.001 for x in c]
    lo = [x - 0.001 for x in c]
    rsi = [40, 20, 45, 55, 40, 40]
    bars, feats = rsi_bars(c, h, lo, c, rsi, [0.01] * 6)
    r = run_backtrader(
        {"EUR_USD": bars}, {"EUR_USD": feats}, load_strategy("rsi_meanrev"), {}, cfg(), "rsi"
    )
    assert [(f.ts_us, f.units) for f in r.fills] == [(T0 + 2 * H, 1000.0), (T0 + 4 * H, -1000.0)]
    assert len(r.trades) == 1
    assert r.trades[0].closed


def test_unknown_strategy_lists_the_available_ones() -> None:
    with pytest.raises(LookupError, match=r"unknown strategy 'nope'.*rsi_meanrev, sma_crossover"):
        load_strategy("nope")


def test_a_misspelt_parameter_is_one_line_naming_the_valid_ones() -> None:
    with pytest.raises(StrategyParamError) as info:
        sma_run(cfg(), allow_shrt=True, fsat=3)
    assert str(info.value) == (
        "strategy sma: unknown parameters 'allow_shrt' (did you mean 'allow_short'?), 'fsat'; "
        "valid: fast_feature, slow_feature, allow_short"
    )


def test_data_spread_and_vol_target_are_refused() -> None:
    with pytest.raises(Unsupported, match="spread='data'"):
        sma_run(cfg(costs=Costs(spread="data")))
    with pytest.raises(Unsupported, match="vol_target"):
        sma_run(cfg(sizing=Sizing(method="vol_target", value=0.1)))


class _Watched(load_strategy("sma_crossover")):  # type: ignore[misc]
    """The SMA crossover, also noting at each step what the recorder must reproduce: the
    latest bar time, the account value and gross exposure, read from Backtrader directly."""

    params = (("log", None),)

    def prenext(self) -> None:  # a data has no bar yet: the strategy waits, the recorder not
        self._note()

    def next(self) -> None:
        super().next()
        self._note()

    def _note(self) -> None:
        value = self.broker.getvalue()
        started = [d for d in self.datas if len(d)]
        gross = sum(abs(self.getposition(d).size) * d.close[0] for d in started)
        ts = max(int(d.tsus[0]) for d in started)
        self.p.log.append((ts, value, gross / value if value else NAN))


def test_equity_curve_and_exposure_match_backtraders_own_values_at_every_step() -> None:
    # two instruments on different clocks (B starts later, every other hour), long and short,
    # with costs: the curves rebuilt after the run equal the values read during it, exactly
    rng = np.random.default_rng(7)

    def walk(n: int, start: int, step: int) -> tuple[BarSeries, dict[str, np.ndarray]]:
        c = 1.1 + np.cumsum(rng.normal(0, 0.002, n))
        o = np.concatenate([[c[0]], c[:-1]])
        ts = T0 + H * (start + step * np.arange(n, dtype=np.int64))
        bars = BarSeries(
            ts, o, np.maximum(o, c) + 0.001, np.minimum(o, c) - 0.001, c, np.full(n, 1e6)
        )
        mean = lambda k: np.convolve(c, np.ones(k) / k)[:n]  # noqa: E731
        fast, slow = mean(3), mean(8)
        fast[:2], slow[:7] = NAN, NAN
        return bars, {"sma_fast": fast, "sma_slow": slow}

    (a, fa), (b, fb) = walk(300, 0, 1), walk(120, 41, 2)
    log: list[tuple[int, float, float]] = []
    config = cfg(
        instruments=("A", "B"), costs=Costs(commission_bps=1.0, spread="fixed", spread_pips=1.0)
    )
    params = {"allow_short": True, "log": log}
    r = run_backtrader({"A": a, "B": b}, {"A": fa, "B": fb}, _Watched, params, config, "w")
    assert len(r.fills) > 20
    assert {f.instrument for f in r.fills} == {"A", "B"}
    assert len(log) == len(r.equity) == 300
    assert r.ts_us.tolist() == [x[0] for x in log]
    assert np.array_equal(r.equity, [x[1] for x in log])
    assert np.array_equal(r.exposure, [x[2] for x in log])
