"""One unit rule for every engine: an order is rounded toward zero to the instrument's unit
precision and one that rounds to nothing is not sent. The numba kernels' ``round_order`` is
the live path's ``round_units`` bit for bit, and the vectorised engine trading fractional
targets at a precision makes Backtrader's fills and equity (its broker rounds the same way)."""

from __future__ import annotations

import math

import backtrader as bt
import numpy as np
import pytest

from tradewind.backtest.bt_engine import run_backtrader
from tradewind.backtest.units import NO_PRECISION, precision_code, round_order
from tradewind.backtest.vector import run_vector
from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig, Costs, FillTiming, Sizing, StrategySpec
from tradewind.domain import Timeframe
from tradewind.domain.instruments import round_units
from tradewind.domain.series import BarSeries
from tradewind.marketdata.synthetic import generate_bars

COSTS = Costs(commission_bps=0.5, spread="fixed", spread_pips=1.2, slippage_bps=0.3)


def test_round_order_is_round_units_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [rng.normal(0, 1000, 5000), [0.3, 2.9999999999999996, -0.7, 1e-12, -0.0, 0.0]]
    )
    for precision in range(7):
        on_grid = rng.integers(-(10**6), 10**6, 500) / 10**precision
        for u in np.concatenate([values, on_grid]).tolist():
            assert round_order(u, precision) == round_units(u, precision), (u, precision)
    assert round_order(0.123456789, NO_PRECISION) == 0.123456789
    assert precision_code(None) == NO_PRECISION
    with pytest.raises(ValueError, match="decimals"):
        precision_code(-2)


class Scripted(bt.Strategy):
    """``order_target_size(targets[i] * max_units)`` on bar i's close (the model strategy's
    way, with its at-target rule)."""

    params = (("targets", None), ("max_units", 1.0))

    def next(self) -> None:
        units = self.p.targets[len(self.data) - 1] * self.p.max_units
        if abs(units - self.getposition(self.data).size) > 1e-9 * self.p.max_units:
            self.order_target_size(target=units)


@pytest.mark.parametrize("fill", [FillTiming.NEXT_OPEN, FillTiming.NEXT_CLOSE])
def test_vector_rounds_orders_as_the_backtrader_broker(fill: FillTiming) -> None:
    # whole units (FX and equities). At decimal precisions Backtrader's own position
    # arithmetic leaves ulp-sized remainders (a 473.8 order executes as 473.80000000000007
    # plus a -6e-14 bit a bar later), so the engines agree to ulps there, not to the bit
    precision = 0
    df = generate_bars(SyntheticConfig(timeframe=Timeframe.H1, bars=400, seed=5))
    col = lambda c: df[c].to_numpy(dtype=np.float64)  # noqa: E731
    ts = df["ts"].astype("int64").to_numpy()
    bars = BarSeries(ts, col("open"), col("high"), col("low"), col("close"), col("volume"))
    rng = np.random.default_rng(2)
    # fractional targets, often a fraction of a unit apart: orders that round to nothing
    targets = np.repeat(rng.uniform(-1, 1, 100), 4)
    targets[1::7] += 0.0006  # 0.6 of a unit: orders that round to nothing
    max_units = 1001.0
    cfg = BacktestConfig(
        name="units",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="scripted"),),
        cash=100_000.0,
        sizing=Sizing(value=max_units),
        costs=COSTS,
        fill=fill,
    )
    vec = run_vector(
        {"EUR_USD": bars},
        {"EUR_USD": targets},
        cfg,
        "x",
        pip_locations={"EUR_USD": -4},
        units_precision={"EUR_USD": precision},
    )
    bt_res = run_backtrader(
        {"EUR_USD": bars},
        {},
        Scripted,
        {"targets": targets.tolist(), "max_units": max_units},
        cfg,
        "x",
        pip_locations={"EUR_USD": -4},
        units_precision={"EUR_USD": precision},
    )
    assert len(vec.fills) == len(bt_res.fills) > 50
    for a, b in zip(vec.fills, bt_res.fills, strict=True):
        assert a.ts_us == b.ts_us
        assert a.units == b.units == round_units(a.units, precision)
        assert a.price == pytest.approx(b.price, rel=1e-12)
    np.testing.assert_allclose(vec.equity, bt_res.equity, rtol=1e-12)
    # the broker refused orders that rounded to nothing; the vectorised engine sent none
    assert any(o.status == "rejected" for o in bt_res.orders)
    unrounded = run_vector({"EUR_USD": bars}, {"EUR_USD": targets}, cfg, "x")
    assert any(not math.isclose(f.units, round(f.units)) for f in unrounded.fills)
