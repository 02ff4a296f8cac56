"""Benchmark: the vectorised engine against vectorbt, SMA 10/30 crossover, like for like.

``python -m bench.vector_bench`` (``--write-results``: section ``vector`` of bench/RESULTS.md).
Long-only, 1 unit, no costs, cash 100,000, decided on bar t's close and filled at bar t+1's
open, on the synthetic M1 bars of ``bench.backtest_data`` (100k and 1M by default). Every
pair runs in one process on the same bars, interleaved (ours, then vectorbt, each repeat), after
one untimed run of each (numba JIT). Timed, per pair:

* whole strategy, from the bars' arrays to trade records, the equity curve and metrics.
  Ours: ``talib.SMA`` 10 and 30, ``sma_crossover_signals``, ``run_vector`` (trades and fills
  as columns: no Python object per trade) and ``compute_metrics``. vectorbt: ``talib.SMA`` 10
  and 30 too (the same values: vectorbt's own ``MA`` differs from TA-Lib's by up to 1e-10 and
  turns some crosses), its ``crossed_above``/``crossed_below`` signal accessors on pandas
  Series shifted one bar (``fshift``), ``Portfolio.from_signals(price=open)``, ``value()``,
  ``trades.records`` and the same metrics through its accessors (``VBT_METRICS``: 19 of our
  22, all but the drawdown in currency, the drawdown episode and turnover, which it lacks).
* simulation only: one signal array into both; ``run_vector`` against ``from_signals`` +
  ``value()`` + ``trades.records`` (no features, no metrics on either side).
* ours with objects: the whole strategy plus every ``Fill`` and ``Trade`` object built (what
  storing or showing all of them costs); context, no peer.
* the 100-point grid (fast 5..50 step 5 x slow 20..200 step 20) through ``run_sweep`` on two
  worker processes, at the largest size: wall time, context.

Checks (each size): the same trades (entry/exit bar and price) and equity within 1e-8 on both
sides of each pair, and the metrics both compute equal (total return and max drawdown to
1e-12; trades, win rate, profit factor, expectancy, SQN and average bars held to 1e-12; Sharpe
to 1e-4: vectorbt also counts a return on the first bar, against the initial cash).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import talib

from bench.backtest_data import (
    CASH,
    FAST,
    PERIODS_PER_YEAR,
    SLOW,
    SYMBOL,
    Trades,
    backtest_config,
    load_bars,
)
from bench.common import check, command_line, log, machine_info, timed
from bench.report import publish
from tradewind.backtest.metrics import compute_metrics
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.sweep import grid_points, parse_grid, run_sweep, sma_crossover_signal_fn
from tradewind.backtest.vector import run_vector, sma_crossover_signals
from tradewind.domain.series import BarSeries

GOAL = 2.0  # vectorbt's time / ours, whole strategy, at least
GRID = "fast=5:50:5,slow=20:200:20"
GRID_WORKERS = 2
WHOLE, SIM, OBJECTS, GRID_ROW = "whole strategy", "simulation only", "ours + objects", "grid"
OURS, VBT = "ours", "vectorbt"
MINUTE = pd.Timedelta(minutes=1)  # one bar: vectorbt gives durations as Timedeltas
# our metric -> vectorbt's, on a Portfolio ``pf``
VBT_METRICS: dict[str, Callable[[Any], Any]] = {
    "total_return": lambda pf: pf.total_return(),
    "annual_return": lambda pf: pf.annualized_return(),
    "annual_volatility": lambda pf: pf.annualized_volatility(),
    "sharpe": lambda pf: pf.sharpe_ratio(),
    "sortino": lambda pf: pf.sortino_ratio(),
    "calmar": lambda pf: pf.calmar_ratio(),
    "max_drawdown": lambda pf: pf.max_drawdown(),
    "max_drawdown_duration_bars": lambda pf: pf.drawdowns.max_duration() / MINUTE,
    "trades": lambda pf: pf.trades.count(),
    "win_rate": lambda pf: pf.trades.win_rate(),
    "profit_factor": lambda pf: pf.trades.profit_factor(),
    "expectancy": lambda pf: pf.trades.expectancy(),
    "sqn": lambda pf: pf.trades.sqn(),
    "avg_bars_held": lambda pf: pf.trades.duration.mean(),
    "exposure": lambda pf: pf.gross_exposure().mean(),
    "var_95": lambda pf: pf.returns_acc.value_at_risk(cutoff=0.05),
    "var_99": lambda pf: pf.returns_acc.value_at_risk(cutoff=0.01),
    "es_95": lambda pf: pf.returns_acc.cond_value_at_risk(cutoff=0.05),
    "es_99": lambda pf: pf.returns_acc.cond_value_at_risk(cutoff=0.01),
}


def import_vectorbt() -> Any | None:
    try:
        import vectorbt as vbt
    except ImportError:
        return None
    return vbt


def vbt_inputs(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Target 0/1 decided at t's close → entry/exit signals on bar t+1 (filled at its open)."""
    prev = np.concatenate([[0.0], signal[:-1]])
    entries = np.zeros(len(signal), dtype=bool)
    exits = np.zeros(len(signal), dtype=bool)
    entries[1:] = ((signal == 1.0) & (prev != 1.0))[:-1]
    exits[1:] = ((signal == 0.0) & (prev == 1.0))[:-1]
    return entries, exits


def run_vbt(vbt: Any, close: Any, open_: Any, entries: Any, exits: Any) -> tuple[Any, Any, Any]:
    """``from_signals`` filled at ``open_``, long-only, 1 unit, no costs; the portfolio, its
    value at every bar and its trade records."""
    pf = vbt.Portfolio.from_signals(
        close,
        entries,
        exits,
        price=open_,
        size=1.0,
        size_type="amount",
        direction="longonly",
        init_cash=CASH,
        fees=0.0,
        fixed_fees=0.0,
        slippage=0.0,
        freq="1min",
    )
    equity = np.asarray(pf.value(), dtype=np.float64).ravel()
    return pf, equity, pf.trades.records


def ours_whole(b: BarSeries) -> tuple[BacktestResult, dict[str, float]]:
    signal = sma_crossover_signals(talib.SMA(b.close, FAST), talib.SMA(b.close, SLOW))
    result = run_vector({SYMBOL: b}, {SYMBOL: signal}, backtest_config(), "bench")
    return result, compute_metrics(result, PERIODS_PER_YEAR)


def ours_objects(b: BarSeries) -> BacktestResult:
    result, _ = ours_whole(b)
    list(result.fills), list(result.trades)
    return result


def vbt_whole(
    vbt: Any, close: pd.Series, open_: np.ndarray
) -> tuple[Any, np.ndarray, Any, dict[str, float]]:
    """From a close Series (a vectorbt user's input, as our BarSeries is ours: made untimed)."""
    fast = pd.Series(talib.SMA(close.to_numpy(), FAST), index=close.index)
    slow = pd.Series(talib.SMA(close.to_numpy(), SLOW), index=close.index)
    entries = fast.vbt.crossed_above(slow).vbt.fshift(1, fill_value=False)
    exits = fast.vbt.crossed_below(slow).vbt.fshift(1, fill_value=False)
    pf, equity, records = run_vbt(vbt, close, open_, entries, exits)
    return pf, equity, records, {k: float(f(pf)) for k, f in VBT_METRICS.items()}


def vbt_trades(records: Any) -> Trades:
    open_ = records["status"] == 0
    return Trades(
        records["entry_idx"].astype(np.int64),
        np.where(open_, -1, records["exit_idx"]).astype(np.int64),
        records["entry_price"].astype(np.float64),
        np.where(open_, np.nan, records["exit_price"]).astype(np.float64),
    )


def same(a: float, b: float, rel: float) -> bool:
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


@dataclass
class Bench:
    args: argparse.Namespace
    times: dict[tuple[int, str, str], list[float]] = field(default_factory=dict)
    checks: list[tuple[str, str]] = field(default_factory=list)

    def record(self, n: int, row: str, side: str, seconds: float) -> None:
        self.times.setdefault((n, row, side), []).append(seconds)
        log(f"  {n:>9,} {row:16} {side:9} {seconds:8.4f} s")

    def median(self, n: int, row: str, side: str) -> float:
        return statistics.median(self.times[(n, row, side)])

    def pairs(self, vbt: Any, b: BarSeries) -> None:
        n = len(b)
        signal = sma_crossover_signals(talib.SMA(b.close, FAST), talib.SMA(b.close, SLOW))
        entries, exits = vbt_inputs(signal)
        close = pd.Series(b.close, index=pd.DatetimeIndex(b.ts.astype("datetime64[us]")))
        cfg = backtest_config()
        log(f" {n:,} bars: warm-up (JIT), untimed")
        ours_objects(b), vbt_whole(vbt, close, b.open)
        run_vbt(vbt, b.close, b.open, entries, exits)
        for r in range(self.args.repeats):
            log(f" {n:,} bars: run {r + 1}/{self.args.repeats}")
            dt, (ours, ours_m) = timed(lambda: ours_whole(b))
            self.record(n, WHOLE, OURS, dt)
            dt, (_pf, vbt_eq, vbt_rec, vbt_m) = timed(lambda: vbt_whole(vbt, close, b.open))
            self.record(n, WHOLE, VBT, dt)
            dt, sim = timed(lambda: run_vector({SYMBOL: b}, {SYMBOL: signal}, cfg, "bench"))
            self.record(n, SIM, OURS, dt)
            dt, (_, sim_eq, sim_rec) = timed(lambda: run_vbt(vbt, b.close, b.open, entries, exits))
            self.record(n, SIM, VBT, dt)
            dt, _ = timed(lambda: ours_objects(b))
            self.record(n, OBJECTS, OURS, dt)
        self.compare(n, ours, ours_m, vbt_eq, vbt_rec, vbt_m, b.ts)
        check(Trades.from_result(sim, b.ts).equal(vbt_trades(sim_rec)), "simulation-only trades")
        check(float(np.max(np.abs(sim.equity - sim_eq))) < 1e-8, "simulation-only equity")
        self.checks.append((f"{n:,} bars, simulation only: trades, equity", "identical, < 1e-8"))

    def compare(
        self,
        n: int,
        ours: BacktestResult,
        ours_m: dict[str, float],
        vbt_eq: np.ndarray,
        vbt_rec: Any,
        vbt_m: dict[str, float],
        ts: np.ndarray,
    ) -> None:
        ot, vt = Trades.from_result(ours, ts), vbt_trades(vbt_rec)
        check(ot.equal(vt), f"whole strategy trades: first difference at {ot.first_difference(vt)}")
        diff = float(np.max(np.abs(ours.equity - vbt_eq)))
        check(diff < 1e-8, f"whole strategy equity differs by {diff}")
        for key in ("total_return", "max_drawdown"):  # fractions: to 1e-12
            check(abs(ours_m[key] - vbt_m[key]) < 1e-12, f"{key}: {ours_m[key]} vs {vbt_m[key]}")
        check(ours_m["trades"] == vbt_m["trades"], "trades")
        for key in ("win_rate", "profit_factor", "expectancy", "sqn"):
            check(same(ours_m[key], vbt_m[key], 1e-12), f"{key}: {ours_m[key]} vs {vbt_m[key]}")
        # a trade still open at the last bar: vectorbt's duration stops at the last bar's
        # index, ours counts that bar too, so the mean may differ by one bar over the trades
        held = abs(ours_m["avg_bars_held"] - vbt_m["avg_bars_held"]) * max(len(ot), 1)
        open_at_end = bool(np.any(np.asarray(vbt_rec["status"]) == 0))
        check(held < 1e-9 or (open_at_end and held < 1 + 1e-9), "avg_bars_held")
        check(same(ours_m["sharpe"], vbt_m["sharpe"], 1e-4), "sharpe")
        self.checks.append(
            (
                f"{n:,} bars, whole strategy: trades (entry/exit bar and price), equity, metrics",
                f"identical {len(ot):,} trades; equity max abs difference {diff:.1e}; total "
                f"return, max drawdown to 1e-12; trades, win rate, profit factor, expectancy, SQN "
                f"equal (1e-12); average bars held equal (or, with a trade open at the end, one "
                f"bar apart in total); Sharpe "
                f"{ours_m['sharpe']:.6f} vs {vbt_m['sharpe']:.6f}",
            )
        )

    def grid(self, b: BarSeries) -> None:
        points = grid_points(parse_grid(GRID))
        cfg = backtest_config()
        for r in range(self.args.repeats):
            log(f" grid run {r + 1}/{self.args.repeats}")
            dt, rows = timed(
                lambda: run_sweep(
                    {SYMBOL: b},
                    sma_crossover_signal_fn,
                    points,
                    cfg,
                    "sharpe",
                    PERIODS_PER_YEAR,
                    max_workers=GRID_WORKERS,
                )
            )
            check(len(rows) == 100, f"{len(rows)} sweep rows")
            self.record(len(b), GRID_ROW, OURS, dt)


def render(bench: Bench, sizes: Sequence[int], command: str) -> str:
    ratio_lines = ["| ratio (vectorbt time / ours) | " + " | ".join(f"{n:,} bars" for n in sizes)]
    ratio_lines[0] += " | goal |"
    ratio_lines.append("|---|" + "---:|" * len(sizes) + "---|")
    for row, goal, what in (
        (WHOLE, f">= {GOAL:.0f}x", "whole strategy: features, signals, simulation, metrics"),
        (SIM, "-", "simulation only: one signal array into both"),
    ):
        cells = [f"{bench.median(n, row, VBT) / bench.median(n, row, OURS):.2f}x" for n in sizes]
        ratio_lines.append(f"| {what} | " + " | ".join(cells) + f" | {goal} |")
    table = [
        "| bars | measurement | side | runs | median s | min s | max s |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    for (n, row, side), s in bench.times.items():
        table.append(
            f"| {n:,} | {row} | {side} | {len(s)} | {statistics.median(s):.4f} | "
            f"{min(s):.4f} | {max(s):.4f} |"
        )
    info = machine_info(("numpy", "pandas", "numba", "TA-Lib", "vectorbt"))
    return "\n".join(
        [
            "## Vectorised engine against vectorbt (SMA 10/30 crossover)",
            "",
            f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- Command: `{command}`",
            *(f"- {k}: {v}" for k, v in info.items()),
            f"- Runs: {bench.args.repeats} of each, interleaved (ours, vectorbt, ...); medians, "
            "after one untimed run of each (JIT). What each row times: the module docstring "
            "of `bench/vector_bench.py`.",
            "- Whole strategy: ours = talib.SMA x2 + `sma_crossover_signals` + `run_vector` + "
            "`compute_metrics`; vectorbt = talib.SMA x2 + `crossed_above`/`crossed_below` + "
            "`fshift(1)` + `from_signals(price=open)` + `value()` + `trades.records` + 19 "
            "metrics through its accessors. Simulation only: the same signal array into "
            "`run_vector` / `from_signals` + `value()` + `trades.records`.",
            f"- Grid: `{GRID}` (10 x 10) through `run_sweep`, target sharpe, {GRID_WORKERS} "
            "worker processes, on the largest size.",
            "",
            "### Ratios",
            "",
            *ratio_lines,
            "",
            "### All measurements",
            "",
            *table,
            "",
            "### Checks",
            "",
            "| check | outcome |",
            "|---|---|",
            *(f"| {what} | {outcome} |" for what, outcome in bench.checks),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.vector_bench", description=__doc__)
    p.add_argument("--bars", default="100000,1000000", help="sizes, comma separated")
    p.add_argument("--repeats", type=int, default=5, help="interleaved runs of each (5)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--skip-grid", action="store_true")
    p.add_argument("--write-results", action="store_true")
    args = p.parse_args(argv)
    vbt = import_vectorbt()
    check(vbt is not None, "vectorbt is not installed (pip install vectorbt)")
    # annualise as we do: a year is PERIODS_PER_YEAR one-minute bars
    vbt.settings.returns["year_freq"] = pd.Timedelta(minutes=PERIODS_PER_YEAR)
    began = time.perf_counter()
    sizes = [int(x) for x in args.bars.split(",")]
    bench = Bench(args)
    for n in sizes:
        bars, _ = load_bars(n, args.seed)
        bench.pairs(vbt, bars)
    if not args.skip_grid:
        bench.grid(bars)
    log(f"whole run {time.perf_counter() - began:.0f} s")
    text = render(bench, sizes, command_line("bench.vector_bench", argv))
    publish("vector", text, "", args.write_results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
