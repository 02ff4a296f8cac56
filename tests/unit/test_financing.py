"""Financing (overnight rollover): the schedule, a hand-computed case on both engines, engine
agreement on a long synthetic run, zero rates changing nothing, sweeps and bad configs."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import numpy as np
import pytest
import talib
from pydantic import ValidationError

from tradewind.backtest.bt_engine import load_strategy, run_backtrader
from tradewind.backtest.financing import rollover_days, year_fractions
from tradewind.backtest.metrics import compute_metrics
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.sweep import run_sweep, sma_crossover_signal_fn
from tradewind.backtest.vector import run_vector, sma_crossover_signals
from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig, Costs, FillTiming, Sizing, StrategySpec
from tradewind.config.base import canonical_json
from tradewind.domain import Timeframe
from tradewind.domain.errors import Unsupported
from tradewind.domain.series import BarSeries
from tradewind.marketdata.synthetic import generate_bars
from tradewind.reports.tables import cost_breakdown
from tradewind.rl.env import check_env_costs


def us(*a: int) -> int:
    return int(datetime(*a, tzinfo=UTC).timestamp()) * 1_000_000


# ------------------------------------------------------------------------------- schedule


def test_one_day_per_new_york_17_00_on_the_first_bar_at_or_after_it() -> None:
    # January (EST): 17:00 New York is 22:00 UTC. Friday 5th, then Sunday 7th's open.
    ts = [us(2024, 1, 5, 21), us(2024, 1, 5, 22), us(2024, 1, 5, 23), us(2024, 1, 7, 22)]
    assert rollover_days(ts).tolist() == [0, 1, 0, 2]  # Friday's at 22:00; Sat + Sun at once
    # July (EDT): 21:00 UTC; a bar a microsecond before the roll does not pay it
    ts = [us(2024, 7, 1, 20), us(2024, 7, 1, 21) - 1, us(2024, 7, 1, 21), us(2024, 7, 2, 21)]
    assert rollover_days(ts).tolist() == [0, 0, 1, 1]
    # daily bars across a weekend: Thursday -> Monday is 4 rollovers (Thu, Fri, Sat, Sun)
    assert rollover_days([us(2024, 1, 4, 12), us(2024, 1, 8, 12)]).tolist() == [0, 4]
    # a year of daily bars pays 365 days (2023: no leap day), across both DST changes
    days = rollover_days(us(2023, 1, 1, 12) + 86_400_000_000 * np.arange(366, dtype=np.int64))
    assert int(days.sum()) == 365
    assert set(days[1:].tolist()) == {1}
    np.testing.assert_array_equal(
        year_fractions([us(2024, 1, 4, 12), us(2024, 1, 8, 12)]), [0, 4 / 365]
    )
    assert rollover_days([]).tolist() == []


def test_daily_bars_at_the_new_york_roll_pay_one_rollover_each_and_three_over_a_weekend() -> None:
    # OANDA's daily candles start at 17:00 New York: 22:00 UTC in winter, 21:00 UTC in summer
    # (DST began Sunday 10 March 2024). Thu 7, then Sun 10 (summer), Mon 11, Tue 12 March.
    ts = [us(2024, 3, 6, 22), us(2024, 3, 7, 22), us(2024, 3, 10, 21), us(2024, 3, 11, 21)]
    assert rollover_days(ts).tolist() == [0, 1, 3, 1]


# ------------------------------------------------------------------------ hand-computed case

# Thursday 4 Jan 2024 12:00 UTC ... Monday 8 Jan 13:00 UTC. The fast SMA crosses the slow one
# on bar 1 (filled on bar 2) and back on bar 4 (filled on bar 5): the position is held over
# Thursday's rollover (charged on bar 3, Friday) and Friday's, Saturday's and Sunday's
# (charged on bar 4, Monday: the weekend's 3 days at once).
HAND_TS = np.array(
    [
        us(2024, 1, 4, 12),
        us(2024, 1, 4, 13),
        us(2024, 1, 4, 14),
        us(2024, 1, 5, 12),
        us(2024, 1, 8, 12),
        us(2024, 1, 8, 13),
    ],
    dtype=np.int64,
)
HAND_CLOSE = np.array([1.10, 1.10, 1.10, 1.20, 1.20, 1.20])


def hand_run(engine: str, side: str, fill: FillTiming) -> BacktestResult:
    px = HAND_CLOSE
    bars = BarSeries(HAND_TS, px, px + 0.01, px - 0.01, px, np.full(6, 100.0))
    up = np.array([0.5, 2.0, 2.0, 2.0, 0.5, 0.5])  # cross above on bar 1, below on bar 4
    fast = up if side == "long" else 2.5 - up
    slow = np.ones(6)
    cfg = BacktestConfig(
        name="fin",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="sma_crossover"),),
        cash=100_000.0,
        sizing=Sizing(value=10_000.0),
        costs=Costs(financing_long_rate=0.05, financing_short_rate=-0.01),
        fill=fill,
    )
    params = {"allow_short": side == "short"}
    if engine == "vector":
        sig = sma_crossover_signals(fast, slow, side == "short")
        return run_vector({"EUR_USD": bars}, {"EUR_USD": sig}, cfg, "sma", params)
    feats = {"EUR_USD": {"sma_fast": fast, "sma_slow": slow}}
    return run_backtrader(
        {"EUR_USD": bars}, feats, load_strategy("sma_crossover"), params, cfg, "sma"
    )


@pytest.mark.parametrize("fill", [FillTiming.NEXT_OPEN, FillTiming.NEXT_CLOSE])
@pytest.mark.parametrize("engine", ["vector", "backtrader"])
def test_hand_computed_long_pays_the_long_rate(engine: str, fill: FillTiming) -> None:
    r = hand_run(engine, "long", fill)
    # 10,000 long: Thursday's day at Thursday's close 1.10, the weekend's 3 at Friday's 1.20
    expected = 10_000 * 1.10 * 0.05 * 1 / 365 + 10_000 * 1.20 * 0.05 * 3 / 365  # 2350 / 365
    assert r.financing == pytest.approx(2350 / 365, rel=1e-12)
    assert r.financing == pytest.approx(expected, rel=1e-12)
    assert [f.units for f in r.fills] == [10_000.0, -10_000.0]
    # flat before bar 3 and after the exit: equity = cash - what was paid up to each bar
    paid = [0.0, 0.0, 0.0, 10_000 * 1.10 * 0.05 / 365, 2350 / 365, 2350 / 365]
    gain = [0.0, 0.0, 0.0, 1000.0, 1000.0, 1000.0]  # bought at 1.10, marked/sold at 1.20
    np.testing.assert_allclose(r.equity, 100_000 + np.array(gain) - paid, rtol=0, atol=1e-9)
    assert cost_breakdown(r).financing == r.financing


@pytest.mark.parametrize("engine", ["vector", "backtrader"])
def test_hand_computed_short_receives_a_negative_short_rate(engine: str) -> None:
    r = hand_run(engine, "short", FillTiming.NEXT_OPEN)
    # 10,000 short at -1 %/year: a credit, i.e. a negative cost
    assert r.financing == pytest.approx(-(110 + 360) / 365, rel=1e-12)
    assert r.equity[4] == pytest.approx(100_000 - 1000.0 + 470 / 365, rel=1e-13)


def test_hand_case_engines_agree() -> None:
    for side in ("long", "short"):
        v = hand_run("vector", side, FillTiming.NEXT_OPEN)
        b = hand_run("backtrader", side, FillTiming.NEXT_OPEN)
        assert v.financing == b.financing  # the same charges, to the bit
        # the engines add cash in a different order (as for every other cost): not bitwise
        np.testing.assert_allclose(v.equity, b.equity, rtol=1e-15)


# --------------------------------------------------------------------- agreement, long run

FIN = Costs(
    commission_bps=0.5,
    spread="fixed",
    spread_pips=1.2,
    slippage_bps=0.3,
    financing_long_rate=0.045,
    financing_short_rate=-0.012,
)


@cache
def synthetic() -> tuple[BarSeries, dict[str, np.ndarray]]:
    df = generate_bars(SyntheticConfig(timeframe=Timeframe.H1, bars=3000, seed=5))
    ts = df["ts"].astype("int64").to_numpy()
    col = lambda c: df[c].to_numpy(dtype=np.float64)  # noqa: E731
    bars = BarSeries(ts, col("open"), col("high"), col("low"), col("close"), col("volume"))
    feats = {"sma_fast": talib.SMA(bars.close, 10), "sma_slow": talib.SMA(bars.close, 30)}
    return bars, feats


def synthetic_cfg(costs: Costs, fill: FillTiming = FillTiming.NEXT_OPEN) -> BacktestConfig:
    return BacktestConfig(
        name="fin",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="sma_crossover"),),
        sizing=Sizing(value=10_000.0),
        costs=costs,
        fill=fill,
    )


def both(costs: Costs, fill: FillTiming = FillTiming.NEXT_OPEN) -> tuple[BacktestResult, ...]:
    bars, feats = synthetic()
    cfg = synthetic_cfg(costs, fill)
    params = {"allow_short": True}
    bt_res = run_backtrader(
        {"EUR_USD": bars}, {"EUR_USD": feats}, load_strategy("sma_crossover"), params, cfg, "sma"
    )
    sig = sma_crossover_signals(feats["sma_fast"], feats["sma_slow"], True)
    return run_vector({"EUR_USD": bars}, {"EUR_USD": sig}, cfg, "sma", params), bt_res


@pytest.mark.parametrize("fill", [FillTiming.NEXT_OPEN, FillTiming.NEXT_CLOSE])
def test_engines_charge_the_same_financing(fill: FillTiming) -> None:
    vec, bt_res = both(FIN, fill)
    free_vec, _ = both(FIN.model_copy(update={"financing_long_rate": 0.0}), fill)
    assert len(bt_res.trades) > 30
    assert vec.financing == bt_res.financing  # the same charges, summed exactly
    assert vec.financing is not None
    assert vec.financing != 0.0
    assert [(f.ts_us, f.units, f.price) for f in vec.fills] == [
        (f.ts_us, f.units, f.price) for f in bt_res.fills
    ]
    np.testing.assert_allclose(vec.equity, bt_res.equity, rtol=1e-9)
    # financing is in the equity curve, hence in the metrics
    assert vec.equity[-1] != free_vec.equity[-1]
    assert free_vec.financing is not None
    assert free_vec.financing < 0


def test_engines_agree_on_two_instruments() -> None:
    bars, feats = synthetic()
    df = generate_bars(SyntheticConfig(timeframe=Timeframe.H1, bars=3000, seed=11))
    assert np.array_equal(df["ts"].astype("int64").to_numpy(), bars.ts)
    col = lambda c: df[c].to_numpy(dtype=np.float64)  # noqa: E731
    other = BarSeries(bars.ts, col("open"), col("high"), col("low"), col("close"), col("volume"))
    other_feats = {"sma_fast": talib.SMA(other.close, 10), "sma_slow": talib.SMA(other.close, 30)}
    both_bars = {"EUR_USD": bars, "GBP_USD": other}
    cfg = synthetic_cfg(FIN).model_copy(update={"instruments": ("EUR_USD", "GBP_USD")})
    params = {"allow_short": True}
    bt_res = run_backtrader(
        both_bars,
        {"EUR_USD": feats, "GBP_USD": other_feats},
        load_strategy("sma_crossover"),
        params,
        cfg,
        "sma",
    )
    signals = {
        s: sma_crossover_signals(f["sma_fast"], f["sma_slow"], True)
        for s, f in (("EUR_USD", feats), ("GBP_USD", other_feats))
    }
    vec = run_vector(both_bars, signals, cfg, "sma", params)
    single, _ = both(FIN)
    assert vec.financing == bt_res.financing
    assert vec.financing != single.financing  # both instruments pay
    np.testing.assert_allclose(vec.equity, bt_res.equity, rtol=1e-9)


PLAIN = Costs(commission_bps=0.5, spread="fixed", spread_pips=1.2, slippage_bps=0.3)


def test_zero_rates_change_nothing() -> None:
    zero = Costs(**PLAIN.model_dump(), financing_long_rate=0.0, financing_short_rate=-0.0)
    assert zero == PLAIN
    assert zero.fingerprint == PLAIN.fingerprint
    assert "financing" not in canonical_json(PLAIN)  # configs from before keep their identity
    assert "financing_long_rate" in canonical_json(FIN)
    vec, bt_res = both(zero)
    assert vec.financing == bt_res.financing == 0.0
    # a rate no position held pays (long only, the short rate set): no charge, and the curves
    # are bit for bit those without financing
    bars, feats = synthetic()
    sig = sma_crossover_signals(feats["sma_fast"], feats["sma_slow"], False)
    strategy = load_strategy("sma_crossover")

    def run(costs: Costs) -> tuple[BacktestResult, BacktestResult]:
        cfg = synthetic_cfg(costs)
        feeds = {"EUR_USD": feats}
        return (
            run_vector({"EUR_USD": bars}, {"EUR_USD": sig}, cfg, "sma"),
            run_backtrader({"EUR_USD": bars}, feeds, strategy, {}, cfg, "sma"),
        )

    plain_vec, plain_bt = run(PLAIN)
    only_short_vec, only_short_bt = run(PLAIN.model_copy(update={"financing_short_rate": 0.02}))
    assert only_short_vec.financing == only_short_bt.financing == 0.0
    np.testing.assert_array_equal(only_short_vec.equity, plain_vec.equity)
    np.testing.assert_array_equal(only_short_bt.equity, plain_bt.equity)
    assert len(plain_bt.trades) > 10


def test_sweeps_honour_financing() -> None:
    bars, _ = synthetic()
    point = [{"fast": 10, "slow": 30, "allow_short": True}]

    def total_return(costs: Costs) -> float:
        [row] = run_sweep(
            {"EUR_USD": bars},
            sma_crossover_signal_fn,
            point,
            synthetic_cfg(costs),
            "total_return",
            6240.0,
            max_workers=1,
        )
        return row.score

    vec, _ = both(FIN)
    assert total_return(FIN) == compute_metrics(vec, 6240.0)["total_return"]
    assert total_return(FIN) != total_return(FIN.model_copy(update={"financing_long_rate": 0.0}))


# -------------------------------------------------------------------------------- configs


@pytest.mark.parametrize(
    ("costs", "needle"),
    [
        ({"financing_rate": 0.01}, "Extra inputs are not permitted"),
        ({"financing_long_rate": "three percent"}, "valid number"),
        ({"financing_short_rate": [0.01]}, "valid number"),
        ({"financing_long_rate": 2.5}, "less than or equal to 1"),  # 2.5 % written as 2.5
        ({"financing_short_rate": -1.5}, "greater than or equal to -1"),
        ({"financing_long_rate": float("nan")}, "finite number"),
    ],
)
def test_bad_financing_config_is_refused(costs: dict[str, object], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        Costs.model_validate(costs)


def test_the_rl_environment_refuses_financing_it_does_not_model() -> None:
    check_env_costs(Costs(spread="fixed", spread_pips=1.0), -4)
    with pytest.raises(Unsupported, match="financing"):
        check_env_costs(Costs(financing_long_rate=0.01), -4)


def test_walk_forward_stitching_scales_each_windows_financing_as_its_curve() -> None:
    from tradewind.pipelines.sweep import stitch

    def window(equity: list[float], financing: float | None) -> BacktestResult:
        ts = np.arange(len(equity), dtype=np.int64)
        e = np.asarray(equity)
        return BacktestResult("s", {}, ("EUR_USD",), ts, e, np.zeros(len(e)), financing=financing)

    one, two = window([100.0, 110.0], 1.0), window([50.0, 60.0], 2.0)
    stitched = stitch([one, two], 100.0, "wf")
    np.testing.assert_allclose(stitched.equity, [100.0, 110.0, 110.0, 132.0])
    assert stitched.financing == pytest.approx(1.0 + 2.0 * 110.0 / 50.0)
    assert stitch([one, window([50.0, 60.0], None)], 100.0, "wf").financing is None
