"""Benchmark: SMA 10/30 crossover on 1M synthetic M1 bars, our engines against the reference.

``python -m bench.backtest_bench`` (``make bench``). Long-only, 1 unit, no costs, decided on
bar t's close and filled at bar t+1's open. Each pair runs in one process on the same bars
(the Backtrader runner against raw Backtrader: ``bench.bt_bench``, which shares these bars):

* ``run_vector`` against vectorbt's ``Portfolio.from_signals`` (signals shifted one bar and
  ``price=open``: the same next-open fills). Goal: at least as fast, excluding JIT warm-up
  (both run once before timing); aim 20,000,000 bars/s. Same trades and equity curve.
* A 100-point grid (fast 5..50 step 5 x slow 20..200 step 20) through ``run_sweep`` on two
  worker processes: wall time.

vectorbt is for the benchmark only (``pip install vectorbt``); without it that pair is skipped.
``--write-results`` writes section ``backtest`` of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import talib

from bench.common import check, command_line, log, machine_info, timed
from bench.report import publish
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.sweep import grid_points, parse_grid, run_sweep, sma_crossover_signal_fn
from tradewind.backtest.vector import _simulate, run_vector, sma_crossover_signals
from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig, Sizing, SizingMethod, StrategySpec
from tradewind.domain import PriceSide, Timeframe
from tradewind.domain.series import BarSeries
from tradewind.marketdata.synthetic import generate_bars
from tradewind.pipelines.synthetic import side_series

T = TypeVar("T")
F64 = npt.NDArray[np.float64]
DATA_DIR = Path(__file__).parent / ".data"
SYMBOL = "EUR_USD"
FAST, SLOW = 10, 30
CASH = 100_000.0
GRID = "fast=5:50:5,slow=20:200:20"
GRID_WORKERS = 2
PERIODS_PER_YEAR = 260 * 1440  # M1 FX bars in a year (weekdays)
GOAL_VEC_RATIO = 1.0  # our vector engine's time / vectorbt's, at most
GOAL_VEC_RATE = 20_000_000  # bars/s, aim

OURS_VEC = "ours: run_vector (fills, trades, equity, exposure)"
KERNEL = "ours: run_vector's numba position loop only (_simulate)"
VBT = "vectorbt: from_signals + value() + trades"
SIGNALS = "signals: talib.SMA x2 + sma_crossover_signals"
SWEEP = f"grid 100 points: run_sweep, {GRID_WORKERS} workers"
ORDER = [SIGNALS, OURS_VEC, KERNEL, VBT, SWEEP]

VBT_MISSING = (
    "vectorbt is not installed: the vectorised-engine comparison is skipped.\n"
    "It is for this benchmark only; install it into the venv with:  .venv/bin/pip install vectorbt"
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.backtest_bench", description=__doc__.splitlines()[0]
    )
    p.add_argument("--bars", type=int, default=1_000_000, help="synthetic M1 bars (1,000,000)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each fast measurement (3)")
    p.add_argument("--seed", type=int, default=42, help="seed of the synthetic bars (42)")
    p.add_argument("--skip-grid", action="store_true", help="skip the parameter grid")
    p.add_argument(
        "--write-results", action="store_true", help="write the figures into bench/RESULTS.md"
    )
    args = p.parse_args(argv)
    if args.bars < 100 or args.repeats < 1:
        p.error("--bars must be at least 100 and --repeats at least 1")
    return args


# --- data -------------------------------------------------------------------------------------


def load_bars(n: int, seed: int) -> tuple[BarSeries, bool]:
    """Mid bars from ``generate_bars``, cached as .npz under bench/.data (git-ignored)."""
    path = DATA_DIR / f"backtest_{SYMBOL}_M1_{n}_seed{seed}.npz"
    fields = ("ts", "open", "high", "low", "close", "volume")
    if path.exists():
        with np.load(path) as z:
            cols = {f: z[f] for f in fields}
        made = False
    else:
        cfg = SyntheticConfig(instrument=SYMBOL, timeframe=Timeframe.M1, bars=n, seed=seed)
        s = side_series(generate_bars(cfg), PriceSide.MID)
        cols = {f: getattr(s, f) for f in fields}
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **cols)
        tmp.replace(path)
        made = True
    series = BarSeries(
        line=np.arange(1, n + 1, dtype=np.int64),
        **{f: np.ascontiguousarray(v) for f, v in cols.items()},
    )
    check(len(series) == n, f"{len(series)} bars, expected {n}")
    return series, made


def backtest_config() -> BacktestConfig:
    return BacktestConfig(
        name="bench-sma-crossover",
        instruments=(SYMBOL,),
        timeframe=Timeframe.M1,
        strategies=(StrategySpec(name="sma_crossover"),),
        cash=CASH,
        sizing=Sizing(method=SizingMethod.FIXED_UNITS, value=1.0),
    )


def talib_features(close: F64) -> dict[str, F64]:
    return {"sma_fast": talib.SMA(close, FAST), "sma_slow": talib.SMA(close, SLOW)}


# --- trades in one comparable form --------------------------------------------------------------


@dataclass(frozen=True)
class Trades:
    """Round trips of a long-only 1-unit strategy: entry/exit bar indexes and prices."""

    entry_idx: npt.NDArray[np.int64]
    exit_idx: npt.NDArray[np.int64]  # -1: still open at the end
    entry_price: F64
    exit_price: F64  # NaN: still open

    def __len__(self) -> int:
        return len(self.entry_idx)

    @classmethod
    def from_fills(
        cls, idx: Sequence[int], units: Sequence[float], price: Sequence[float]
    ) -> Trades:
        """Alternate +1 / -1 fills (checked) into round trips."""
        ei: list[int] = []
        xi: list[int] = []
        ep: list[float] = []
        xp: list[float] = []
        for k, (i, u, p) in enumerate(zip(idx, units, price, strict=True)):
            want = 1.0 if k % 2 == 0 else -1.0
            check(u == want, f"fill {k} has units {u}, a long-only 1-unit run alternates +1/-1")
            if u > 0:
                ei.append(i)
                ep.append(p)
            else:
                xi.append(i)
                xp.append(p)
        if len(xi) < len(ei):
            xi.append(-1)
            xp.append(float("nan"))
        return cls(
            np.asarray(ei, dtype=np.int64),
            np.asarray(xi, dtype=np.int64),
            np.asarray(ep, dtype=np.float64),
            np.asarray(xp, dtype=np.float64),
        )

    @classmethod
    def from_result(cls, r: BacktestResult, ts: npt.NDArray[np.int64]) -> Trades:
        idx = np.searchsorted(ts, [f.ts_us for f in r.fills])
        return cls.from_fills(idx.tolist(), [f.units for f in r.fills], [f.price for f in r.fills])

    def equal(self, other: Trades) -> bool:
        return (
            len(self) == len(other)
            and np.array_equal(self.entry_idx, other.entry_idx)
            and np.array_equal(self.exit_idx, other.exit_idx)
            and np.array_equal(self.entry_price, other.entry_price)
            and np.array_equal(self.exit_price, other.exit_price, equal_nan=True)
        )

    def first_difference(self, other: Trades) -> int | None:
        m = min(len(self), len(other))
        for k in range(m):
            a = (self.entry_idx[k], self.exit_idx[k], self.entry_price[k], self.exit_price[k])
            b = (other.entry_idx[k], other.exit_idx[k], other.entry_price[k], other.exit_price[k])
            if a[:3] != b[:3] or not (a[3] == b[3] or (np.isnan(a[3]) and np.isnan(b[3]))):
                return k
        return None if len(self) == len(other) else m

    def keys(self) -> set[tuple[int, int]]:
        return set(zip(self.entry_idx.tolist(), self.exit_idx.tolist(), strict=True))


def trades_from_result(r: BacktestResult, ts: npt.NDArray[np.int64]) -> Trades:
    """The same, from ``r.trades`` (what the runner reports), as a cross-check of the fills."""
    idx = {int(t): i for i, t in enumerate(ts)}
    return Trades(
        np.asarray([idx[t.entry_ts_us] for t in r.trades], dtype=np.int64),
        np.asarray(
            [idx[t.exit_ts_us] if t.exit_ts_us is not None else -1 for t in r.trades],
            dtype=np.int64,
        ),
        np.asarray([t.entry_price for t in r.trades], dtype=np.float64),
        np.asarray(
            [t.exit_price if t.exit_price is not None else np.nan for t in r.trades],
            dtype=np.float64,
        ),
    )


# --- vectorbt, the same semantics ----------------------------------------------------------------


def import_vectorbt() -> Any | None:
    try:
        import vectorbt as vbt
    except ImportError:
        return None
    return vbt


def vbt_inputs(signal: F64) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Target 0/1 decided at t's close → entry/exit signals on bar t+1 (filled at its open)."""
    prev = np.concatenate([[0.0], signal[:-1]])
    entries = np.zeros(len(signal), dtype=bool)
    exits = np.zeros(len(signal), dtype=bool)
    entries[1:] = ((signal == 1.0) & (prev != 1.0))[:-1]
    exits[1:] = ((signal == 0.0) & (prev == 1.0))[:-1]
    return entries, exits


def run_vbt(vbt: Any, bars: BarSeries, entries: Any, exits: Any) -> tuple[Any, F64, Any]:
    pf = vbt.Portfolio.from_signals(
        bars.close,
        entries,
        exits,
        price=bars.open,
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


# --- the benchmark ------------------------------------------------------------------------------


@dataclass
class Measurement:
    name: str
    bars: int
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        return self.bars / self.median if self.seconds and self.median > 0 else 0.0


@dataclass
class Bench:
    args: argparse.Namespace
    bars: BarSeries
    results: dict[str, Measurement] = field(default_factory=dict)
    checks: list[tuple[str, str]] = field(default_factory=list)  # (check, outcome)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self, name: str, bars: int, seconds: float) -> None:
        m = self.results.setdefault(name, Measurement(name, bars))
        m.seconds.append(seconds)
        log(f"  {name:62} {seconds:9.3f} s  {bars / seconds:>14,.0f} bars/s")

    def passed(self, what: str, outcome: str = "equal") -> None:
        self.checks.append((what, outcome))
        log(f"  check: {what}: {outcome}")

    # (c) our vectorised engine against vectorbt
    def vector_pair(self, vbt: Any) -> None:
        b, n = self.bars, len(self.bars)
        cfg = backtest_config()
        dt, signal = timed(
            lambda: sma_crossover_signals(*talib_features(b.close).values(), allow_short=False)
        )
        log(" warm-up (JIT): each engine once, untimed")
        run_vector({SYMBOL: b}, {SYMBOL: signal}, cfg, "bench")
        entries, exits = vbt_inputs(signal)
        run_vbt(vbt, b, entries, exits)
        for r in range(self.args.repeats):
            log(f" vector run {r + 1}/{self.args.repeats}")
            dt, signal = timed(
                lambda: sma_crossover_signals(*talib_features(b.close).values(), allow_short=False)
            )
            self.record(SIGNALS, n, dt)
            dt, ours = timed(
                lambda sig=signal: run_vector({SYMBOL: b}, {SYMBOL: sig}, cfg, "bench")
            )
            self.record(OURS_VEC, n, dt)
            dt, _ = timed(
                lambda sig=signal: _simulate(b.open, b.close, sig, False, 0.0, 0.0, 0.0, 0.0)
            )
            self.record(KERNEL, n, dt)
            entries, exits = vbt_inputs(signal)
            dt, (_pf, vbt_equity, vbt_trades) = timed(
                lambda e=entries, x=exits: run_vbt(vbt, b, e, x)
            )
            self.record(VBT, n, dt)
        ot = Trades.from_result(ours, b.ts)
        check(ot.equal(trades_from_result(ours, b.ts)), "our vector fills and trades disagree")
        status_open = vbt_trades["status"] == 0
        vt = Trades(
            vbt_trades["entry_idx"].astype(np.int64),
            np.where(status_open, -1, vbt_trades["exit_idx"]).astype(np.int64),
            vbt_trades["entry_price"].astype(np.float64),
            np.where(status_open, np.nan, vbt_trades["exit_price"]).astype(np.float64),
        )
        check(
            ot.equal(vt),
            f"vector vs vectorbt trades: {len(ot)} vs {len(vt)}, first difference at "
            f"{ot.first_difference(vt)}",
        )
        check(len(vbt_equity) == n, f"vectorbt equity has {len(vbt_equity)} points")
        diff = float(np.max(np.abs(ours.equity - vbt_equity)))
        check(diff < 1e-8, f"equity curves differ by up to {diff}")
        self.extra["vec_trades"] = len(ot)
        self.passed(
            "ours (run_vector) vs vectorbt: every trade (entry/exit bar and price)",
            f"identical: {len(ot):,} trades",
        )
        self.passed(
            "ours (run_vector) vs vectorbt: equity at every bar's close",
            f"max abs difference {diff:.1e} (float summation order: we add cash from trading to "
            "the initial cash at each bar, vectorbt carries a running cash balance); final "
            f"{ours.equity[-1]:.5f} vs {vbt_equity[-1]:.5f}",
        )

    # (d) the 100-point grid
    def grid(self) -> None:
        b, n = self.bars, len(self.bars)
        points = grid_points(parse_grid(GRID))
        check(len(points) == 100, f"{len(points)} grid points")
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
            self.record(SWEEP, n * len(points), dt)
        self.extra["grid_best"] = rows[0]


# --- the report ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    return machine_info(("numpy", "pandas", "numba", "TA-Lib", "vectorbt"))


def goal_lines(bench: Bench) -> list[str]:
    r = bench.results
    rows = ["| goal | measured | target | met |", "|---|---:|---:|---|"]

    def yes(ok: bool) -> str:
        return "yes" if ok else "**no**"

    if OURS_VEC in r and VBT in r:
        ratio = r[OURS_VEC].median / r[VBT].median
        rows.append(
            f"| run_vector time / vectorbt time (after JIT warm-up) | {ratio:.2f}x | "
            f"<= {GOAL_VEC_RATIO:.2f}x | {yes(ratio <= GOAL_VEC_RATIO)} |"
        )
    if OURS_VEC in r:
        rate = r[OURS_VEC].rate
        rows.append(
            f"| run_vector throughput (aim) | {rate:,.0f} bars/s | {GOAL_VEC_RATE:,} bars/s | "
            f"{yes(rate >= GOAL_VEC_RATE)} |"
        )
    if SWEEP in r:
        rows.append(
            f"| 100-point grid, wall time on {GRID_WORKERS} cores | {r[SWEEP].median:.1f} s | "
            "report only | - |"
        )
    return rows


def table_lines(bench: Bench) -> list[str]:
    rows = [
        "| measurement | bars | runs | median s | min s | max s | bars/s (median) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ORDER:
        m = bench.results.get(name)
        if m is None:
            continue
        rows.append(
            f"| {m.name} | {m.bars:,} | {len(m.seconds)} | {m.median:.3f} | "
            f"{min(m.seconds):.3f} | {max(m.seconds):.3f} | {m.rate:,.0f} |"
        )
    return rows


def render(bench: Bench, info: dict[str, str], command: str, seconds: float) -> str:
    a = bench.args
    lines = [
        "## Backtest engines (SMA 10/30 crossover)",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Command: `{command}` (whole run: {seconds:.0f} s)",
        *(f"- {k}: {v}" for k, v in info.items()),
        f"- Data: {len(bench.bars):,} synthetic M1 {SYMBOL} mid bars (seed {a.seed}), "
        "cached in bench/.data",
        "- Strategy: SMA 10/30 crossover, long-only, 1 unit, no costs, cash 100,000; decided "
        "on bar t's close, filled at bar t+1's open",
        f"- Runs: {a.repeats} of each measurement; medians. Vector pair: the same signal array "
        "into both; ours = "
        "`run_vector` (fills, trades with MAE/MFE, equity, exposure), vectorbt = "
        "`from_signals` + `value()` + `trades.records`, both run once untimed first (JIT).",
        f"- Grid: `{GRID}` (10 x 10) through `run_sweep`, target sharpe, "
        f"{GRID_WORKERS} worker processes; bars column = bars x points",
        "",
        "### Goals",
        "",
        *goal_lines(bench),
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
    if bench.notes:
        lines += ["", "### Notes", "", *(f"- {n}" for n in bench.notes)]
    return "\n".join(lines)


HEADER = """# Benchmark results

Written by `python -m bench.run --write-results` and `python -m bench.backtest_bench
--write-results` (`make bench` runs both). Sections between `bench:begin`/`bench:end` markers
are regenerated; text outside them is kept.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    bars, made = load_bars(args.bars, args.seed)
    log(f"data: {len(bars):,} M1 bars in {DATA_DIR} ({'generated' if made else 'cached'})")
    bench = Bench(args, bars)
    vbt = import_vectorbt()
    if vbt is None:
        log(VBT_MISSING)
        bench.notes.append("vectorbt not installed: pair skipped (`pip install vectorbt`).")
    else:
        bench.vector_pair(vbt)
    if not args.skip_grid:
        bench.grid()
    seconds = time.perf_counter() - began
    text = render(bench, machine(), command_line("bench.backtest_bench", argv), seconds)
    publish("backtest", text, HEADER, args.write_results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
