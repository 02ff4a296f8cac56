"""Benchmark: our Backtrader runner against raw Backtrader, like for like (issue 18).

``python -m bench.bt_bench`` (``make bench``). SMA 10/30 crossover, long-only, 1 unit, no
costs, cash 100,000, decided on bar t's close and filled at bar t+1's open, on the first N of
the benchmark's synthetic M1 bars (bench/.data, shared with ``bench.backtest_data``). Every
engine runs without observers (``stdstats=False``), on ``bt.feeds.PandasData``, and records
the account value at every bar's close:

* ours: ``talib.SMA`` features + ``run_backtrader`` with the shipped
  ``strategies/sma_crossover.py``: fills, orders, trades, equity and exposure at every bar.
* raw, same strategy: Backtrader as a user runs that same strategy file: PandasData with the
  same two SMA columns, the same ``SmaCrossover`` class, the default broker and sizer (1 unit),
  ``cerebro.run()`` with its defaults but ``stdstats=False``, and an analyzer that appends
  ``broker.getvalue()`` at each bar and each fill from ``notify_order``. Its fills and equity
  curve must equal ours exactly.
* raw, user-written: ``bt.indicators.SMA`` 10/30 + ``CrossOver`` on PandasData OHLCV, the same
  analyzer. Our runner reads TA-Lib's SMA (a running sum), Backtrader's is ``math.fsum`` of the
  window: they differ by ~1e-13, so where the two averages tie (5-decimal prices make ties
  common) a cross can differ; the engine check feeds our runner Backtrader's own SMA values and
  asserts the same trades and final equity.

Runs are interleaved (each repeat runs every engine once); wall and CPU time are both kept.
``--write-results`` writes section ``backtest-bt`` of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import backtrader as bt
import numpy as np
import numpy.typing as npt
import pandas as pd

from bench.backtest_data import (
    CASH,
    HEADER,
    SYMBOL,
    Trades,
    backtest_config,
    load_bars,
    talib_features,
)
from bench.common import check, command_line, log, machine_info
from bench.report import publish
from tradewind.backtest.bt_engine import load_strategy, run_backtrader
from tradewind.backtest.result import BacktestResult
from tradewind.domain.series import BarSeries

F64 = npt.NDArray[np.float64]
OURS = "ours: talib SMA features + run_backtrader(sma_crossover)"
RAW_SAME = "raw Backtrader: the same SmaCrossover on PandasData + SMA columns"
RAW_USER = "raw Backtrader: bt.indicators.SMA + CrossOver on PandasData"
GOAL = 1.10  # ours / raw, same strategy, at most


class EquityCurve(bt.Analyzer):
    """The raw side's outputs: the account value at each bar, each fill (bar, size, price)."""

    def start(self) -> None:
        self.values: list[float] = []
        self.fills: list[tuple[int, float, float]] = []

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            ex = order.executed
            self.fills.append((len(self.data) - 1, float(ex.size), float(ex.price)))

    def next(self) -> None:
        self.values.append(self.strategy.broker.getvalue())


class RawSmaCross(bt.Strategy):
    """SMA 10/30 crossover the way a Backtrader user writes it."""

    params = (("fast", 10), ("slow", 30), ("size", 1))

    def __init__(self) -> None:
        self.sma_fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        self.sma_slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.crossover = bt.indicators.CrossOver(self.sma_fast, self.sma_slow)

    def next(self) -> None:
        if not self.position:
            if self.crossover > 0:
                self.buy(size=self.p.size)
        elif self.crossover < 0:
            self.close()


class _SmaData(bt.feeds.PandasData):
    lines = ("sma_fast", "sma_slow")
    params = (("sma_fast", "sma_fast"), ("sma_slow", "sma_slow"))


@dataclass
class RawRun:
    trades: Trades
    equity: F64
    sma: tuple[F64, F64] | None = None  # the user-written run's SMA 10 and 30


def _frame(bars: BarSeries, extra: dict[str, F64] | None = None) -> pd.DataFrame:
    cols = {"open": bars.open, "high": bars.high, "low": bars.low, "close": bars.close}
    cols = {**cols, "volume": bars.volume, **(extra or {})}
    return pd.DataFrame(cols, index=pd.DatetimeIndex(bars.ts.astype("datetime64[us]")))


def _run_raw(feed: bt.feeds.PandasData, strategy: type[bt.Strategy]) -> tuple[Any, EquityCurve]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(feed)
    cerebro.addstrategy(strategy)
    cerebro.addanalyzer(EquityCurve, _name="curve")
    cerebro.broker.setcash(CASH)
    (strat,) = cerebro.run()
    return strat, strat.analyzers.curve


def _raw_result(curve: EquityCurve) -> RawRun:
    f = curve.fills
    trades = Trades.from_fills([x[0] for x in f], [x[1] for x in f], [x[2] for x in f])
    return RawRun(trades, np.asarray(curve.values, dtype=np.float64))


def raw_same(bars: BarSeries) -> RawRun:
    feed = _SmaData(dataname=_frame(bars, talib_features(bars.close)), openinterest=None)
    _, curve = _run_raw(feed, load_strategy("sma_crossover"))
    return _raw_result(curve)


def raw_user(bars: BarSeries) -> RawRun:
    strat, curve = _run_raw(
        bt.feeds.PandasData(dataname=_frame(bars), openinterest=None), RawSmaCross
    )
    run = _raw_result(curve)
    run.sma = (
        np.asarray(strat.sma_fast.array, dtype=np.float64),
        np.asarray(strat.sma_slow.array, dtype=np.float64),
    )
    return run


def ours(bars: BarSeries, feats: dict[str, F64] | None = None) -> BacktestResult:
    f = feats if feats is not None else talib_features(bars.close)
    strategy = load_strategy("sma_crossover")
    return run_backtrader({SYMBOL: bars}, {SYMBOL: f}, strategy, {}, backtest_config(), "bench")


def head(bars: BarSeries, n: int) -> BarSeries:
    fields = ("ts", "open", "high", "low", "close", "volume", "line")
    return BarSeries(**{f: np.ascontiguousarray(getattr(bars, f)[:n]) for f in fields})


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


@dataclass
class Bench:
    args: argparse.Namespace
    times: dict[tuple[int, str], Timing] = field(default_factory=dict)
    checks: list[tuple[str, str]] = field(default_factory=list)

    def record(self, n: int, name: str, wall: float, cpu: float) -> None:
        t = self.times.setdefault((n, name), Timing())
        t.wall.append(wall)
        t.cpu.append(cpu)
        log(f"  {n:>9,} {name:66} wall {wall:8.3f} s  cpu {cpu:8.3f} s")

    def passed(self, what: str, outcome: str) -> None:
        self.checks.append((what, outcome))
        log(f"  check: {what}: {outcome}")

    def run(self, bars: BarSeries, n: int) -> None:
        b = head(bars, n)
        engines: dict[str, Callable[[], Any]] = {
            OURS: lambda: ours(b),
            RAW_SAME: lambda: raw_same(b),
        }
        if n <= self.args.user_bars:
            engines[RAW_USER] = lambda: raw_user(b)
        last: dict[str, Any] = {}
        for r in range(self.args.repeats):
            log(f" {n:,} bars, run {r + 1}/{self.args.repeats}")
            order = list(engines.items())
            for name, fn in order if r % 2 == 0 else order[::-1]:  # ABBA: drift cancels
                wall, cpu, last[name] = timed(fn)
                self.record(n, name, wall, cpu)
        self.compare(b, last[OURS], last[RAW_SAME], last.get(RAW_USER))

    def compare(
        self, b: BarSeries, mine: BacktestResult, same: RawRun, user: RawRun | None
    ) -> None:
        n, ot = len(b), Trades.from_result(mine, b.ts)
        check(ot.equal(same.trades), f"{n} bars: ours vs raw (same strategy) trades differ")
        check(np.array_equal(mine.equity, same.equity), f"{n} bars: equity curves differ")
        self.passed(
            f"{n:,} bars: ours vs raw Backtrader, same strategy: every fill (bar, units, price) "
            "and the equity at every bar's close",
            f"identical: {len(ot):,} trades, final equity {mine.equity[-1]:.5f}",
        )
        if user is None or user.sma is None:
            return
        self.passed(
            f"{n:,} bars: ours (talib SMA) vs raw Backtrader, user-written (fsum SMA): trades",
            f"{len(ot):,} vs {len(user.trades):,} ({len(ot.keys() & user.trades.keys()):,} "
            "identical entry/exit bars); differences come from SMA rounding at ties",
        )
        fast, slow = user.sma
        check(not (fast[29] == slow[29] and fast[30] > slow[30]), "a tie on the first SMA 30 bar")
        again = ours(b, {"sma_fast": fast.copy(), "sma_slow": slow.copy()})
        st = Trades.from_result(again, b.ts)
        check(st.equal(user.trades), f"{n} bars: ours on Backtrader's SMAs vs raw: trades differ")
        check(float(again.equity[-1]) == float(user.equity[-1]), f"{n} bars: final equity differs")
        self.passed(
            f"{n:,} bars: ours on Backtrader's own SMA values (untimed) vs raw user-written: "
            "every trade, final equity",
            f"identical: {len(st):,} trades, final equity {again.equity[-1]:.5f}",
        )


def profile(bars: BarSeries, n: int) -> str:
    b = head(bars, n)
    prof = cProfile.Profile()
    prof.enable()
    ours(b)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()


RATIOS = (
    (
        RAW_SAME,
        "ours / raw Backtrader running the same SmaCrossover on the same SMA columns (same feed "
        "type, broker settings, no observers; both record the equity at every bar)",
    ),
    (
        RAW_USER,
        "ours / raw Backtrader with SMA + CrossOver indicators computed by Backtrader (no "
        "observers on either side; both record the equity at every bar)",
    ),
)


def ratio_lines(bench: Bench, sizes: list[int]) -> list[str]:
    """Ratios of the medians (wall, CPU) and, as a check on drift, each run's own wall ratio
    (ours against the raw run next to it)."""
    head_row = " | ".join(f"{n:,} bars wall | CPU | per run (wall)" for n in sizes)
    rows = [f"| ratio | what it compares | {head_row} |", "|---|---|" + "---:|" * 3 * len(sizes)]
    for name, what in RATIOS:
        cells = []
        for n in sizes:
            a, b = bench.times.get((n, OURS)), bench.times.get((n, name))
            if a is None or b is None:
                cells += ["-", "-", "-"]
                continue
            w = statistics.median(a.wall) / statistics.median(b.wall)
            c = statistics.median(a.cpu) / statistics.median(b.cpu)
            runs = ", ".join(f"{x / y:.2f}" for x, y in zip(a.wall, b.wall, strict=True))
            cells += [f"**{w:.2f}x**", f"{c:.2f}x", runs]
        label = "ours / raw, same strategy" if name == RAW_SAME else "ours / raw, user-written"
        rows.append(f"| {label} | {what} | {' | '.join(cells)} |")
    return rows


def table_lines(bench: Bench) -> list[str]:
    rows = [
        "| measurement | bars | runs | median wall s | min | max | median CPU s | bars/s (wall) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (n, name), t in sorted(bench.times.items(), key=lambda kv: kv[0][0]):
        w = statistics.median(t.wall)
        rows.append(
            f"| {name} | {n:,} | {len(t.wall)} | {w:.3f} | {min(t.wall):.3f} | {max(t.wall):.3f} "
            f"| {statistics.median(t.cpu):.3f} | {n / w:,.0f} |"
        )
    return rows


def render(
    bench: Bench, sizes: list[int], loads: tuple[str, str], command: str, secs: float
) -> str:
    a = bench.args
    info = machine_info(("numpy", "pandas", "TA-Lib", "backtrader"))
    return "\n".join(
        [
            "## Backtrader runner against raw Backtrader, like for like",
            "",
            f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- Command: `{command}` (whole run: {secs:.0f} s)",
            *(f"- {k}: {v}" for k, v in info.items()),
            f"- Load average (1, 5, 15 min) at start: {loads[0]}; at end: {loads[1]}",
            f"- Data: the first {', '.join(f'{n:,}' for n in sizes)} of the synthetic M1 "
            f"{SYMBOL} mid bars (seed {a.seed}), cached in bench/.data",
            "- Strategy: SMA 10/30 crossover, long-only, 1 unit, no costs, cash 100,000; "
            "decided on bar t's close, filled at bar t+1's open",
            f"- Runs: {a.repeats} of each engine per bar count, interleaved (engine order reversed "
            "every other run); medians. No "
            "observers anywhere (`stdstats=False`). Timed: ours = talib.SMA + `run_backtrader` "
            "(feed, run, fills, orders, trades, equity and exposure at every bar); raw = "
            "DataFrame + PandasData + `cerebro.run()` + an analyzer keeping `broker.getvalue()` "
            "at every bar and the fills (the user-written one computes its SMAs in Backtrader)",
            "",
            f"### Ratios (goal: ours / raw, same strategy, <= {GOAL:.2f}x)",
            "",
            *ratio_lines(bench, sizes),
            "",
            "### All measurements",
            "",
            *table_lines(bench),
            "",
            "### Equality checks",
            "",
            "| check | outcome |",
            "|---|---|",
            *(f"| {what} | {outcome} |" for what, outcome in bench.checks),
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.bt_bench", description=__doc__.splitlines()[0]
    )
    p.add_argument("--bars", default="100000,1000000", help="bar counts (100000,1000000)")
    p.add_argument("--repeats", type=int, default=3, help="interleaved runs of each engine (3)")
    p.add_argument(
        "--user-bars",
        type=int,
        default=100_000,
        help="run the user-written raw engine only up to this many bars (100000)",
    )
    p.add_argument("--seed", type=int, default=42, help="seed of the synthetic bars (42)")
    p.add_argument("--profile", type=int, default=0, metavar="BARS", help="cProfile ours on BARS")
    p.add_argument("--write-results", action="store_true", help="write bench/RESULTS.md")
    args = p.parse_args(argv)
    args.sizes = sorted({int(x) for x in args.bars.split(",")})
    if args.sizes[0] < 100 or args.repeats < 1:
        p.error("--bars must be at least 100 and --repeats at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began, load0 = time.perf_counter(), os.getloadavg()
    bars, made = load_bars(max(1_000_000, args.sizes[-1]), args.seed)
    log(f"data: {len(bars):,} M1 bars ({'generated' if made else 'cached'})")
    if args.profile:
        log(profile(bars, args.profile))
        return 0
    bench = Bench(args)
    for n in args.sizes:
        bench.run(bars, n)
    loads = tuple(", ".join(f"{x:.2f}" for x in ld) for ld in (load0, os.getloadavg()))
    secs = time.perf_counter() - began
    text = render(bench, args.sizes, loads, command_line("bench.bt_bench", argv), secs)  # type: ignore[arg-type]
    publish("backtest-bt", text, HEADER, args.write_results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
