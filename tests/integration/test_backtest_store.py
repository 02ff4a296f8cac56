"""Backtest results round-trip through both databases exactly, linked to their run."""

from __future__ import annotations

import numpy as np

from tradewind.backtest.result import BacktestResult, Fill, Order, Trade
from tradewind.config import SyntheticConfig
from tradewind.pipelines.setup import initialise
from tradewind.storage import runs
from tradewind.storage.backtests import load_results, save_result
from tradewind.storage.engine import make_engine

T0 = 1_704_067_200_000_000
H = 3_600_000_000


def sample() -> BacktestResult:
    ts = T0 + H * np.arange(5, dtype=np.int64)
    return BacktestResult(
        strategy="sma_crossover",
        params={"fast": 10, "slow": 30},
        instruments=("EUR_USD",),
        ts_us=ts,
        equity=np.array([100.0, 101.5, 99.25, 102.0, 102.0]),
        exposure=np.array([0.0, 1.0, 1.0, 0.0, 0.0]),
        fills=[
            Fill(int(ts[1]), "EUR_USD", "sma_crossover", 1000.0, 1.1001, 0.5, 1, 0.04, 0.033),
            Fill(int(ts[3]), "EUR_USD", "sma_crossover", -1000.0, 1.1021, 0.5, 2),
        ],
        trades=[
            Trade(
                "EUR_USD",
                "sma_crossover",
                int(ts[1]),
                int(ts[3]),
                1000.0,
                1.1001,
                1.1021,
                1.0,
                1.0,
                2,
                -0.0005,
                0.003,
                exit_reason="stop",
            ),
            Trade(
                "EUR_USD",
                "sma_crossover",
                int(ts[4]),
                None,
                -1000.0,
                1.1,
                None,
                0.0,
                0.0,
                0,
                0.0,
                0.0,
                closed=False,
                exit_reason="end_of_data",
            ),
        ],
        metrics={"sharpe": 1.25, "profit_factor": float("inf"), "sqn": float("nan")},
        orders=[
            Order(
                1,
                "EUR_USD",
                "sma_crossover",
                "market",
                1000.0,
                None,
                None,
                int(ts[0]),
                int(ts[1]),
                "completed",
                1000.0,
            ),
            Order(
                3,
                "EUR_USD",
                "sma_crossover",
                "stop",
                -1000.0,
                None,
                1.09,
                int(ts[1]),
                None,
                "working",
                0.0,
            ),
        ],
    )


def test_results_round_trip(db_url: str) -> None:
    eng = make_engine(db_url)
    initialise(eng)
    run_id = runs.start_run(eng, "backtest", SyntheticConfig(), name="t")
    original = sample()
    with eng.begin() as conn:
        save_result(conn, run_id, original)
    with eng.connect() as conn:
        [back] = load_results(conn, run_id)
    assert back.strategy == original.strategy
    assert back.params == original.params
    assert back.instruments == original.instruments
    np.testing.assert_array_equal(back.ts_us, original.ts_us)
    np.testing.assert_array_equal(back.equity, original.equity)
    np.testing.assert_array_equal(back.exposure, original.exposure)
    assert back.fills == original.fills
    assert back.trades == original.trades
    assert back.orders == original.orders
    assert back.metrics["sharpe"] == 1.25
    assert back.metrics["profit_factor"] == float("inf")
    assert np.isnan(back.metrics["sqn"])
