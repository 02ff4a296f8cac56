"""Benchmark: SMA 10/30 crossover on 1M synthetic M1 bars, our engines against the reference.

``python -m bench.backtest_bench`` (``make bench``). Long-only, 1 unit, no costs, decided on
bar t's close and filled at bar t+1's open. Each pair runs in one process on the same bars:

* ``run_backtrader`` with the shipped ``strategies/sma_crossover.py`` (features from
  ``talib.SMA``, as our feature builder computes them) against raw Backtrader as a user writes
  it: ``bt.indicators.SMA`` 10/30, ``CrossOver``, ``bt.feeds.PandasData``, the default broker,
  ``cerebro.run()``. Goal: at most 1.25x its time, the same trades and final equity.

The vectorised engine against vectorbt, and the parameter grid, are ``bench.vector_bench``.

Equality. Our runner reads TA-Lib's SMA (a running sum); Backtrader's SMA is ``math.fsum`` of
the window, correctly rounded. They differ by up to ~1e-13, so on bars where the two averages
are equal or within that distance (mathematical ties: 5-decimal prices make them common) the
sign of fast - slow, and so a cross, can differ. The timed pair therefore reports how many
trades differ and where; the engine check feeds our runner Backtrader's own SMA values (read
back from the raw run) and asserts identical fills, trades and final equity. Warm-up needs no
alignment: both see the first possible cross on bar 30 (0-based), when SMA 30 exists on this
bar and the previous one; Backtrader's ``CrossOver`` carries the last non-zero difference over
ties, ours treats a tie on the previous bar as "not above", which for a long-only strategy only
differs before the first trade (a tie at bar 29 followed by fast > slow), checked below.

``--write-results`` writes section ``backtest`` of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import backtrader as bt
import numpy as np
import numpy.typing as npt
import pandas as pd
import talib

from bench.common import check, command_line, log, machine_info, timed
from bench.report import publish
from tradewind.backtest.bt_engine import load_strategy, run_backtrader
from tradewind.backtest.result import BacktestResult
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
PERIODS_PER_YEAR = 260 * 1440  # M1 FX bars in a year (weekdays)
GOAL_BT_RATIO = 1.25  # our runner's time / raw Backtrader's, at most

OURS_BT = "ours: run_backtrader + sma_crossover (talib SMA features)"
OURS_BT_CHECK = "ours: run_backtrader on Backtrader's SMA values (engine check)"
RAW_BT = "raw Backtrader: SMA + CrossOver, PandasData, default broker"
ORDER = [OURS_BT, OURS_BT_CHECK, RAW_BT]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.backtest_bench", description=__doc__.splitlines()[0]
    )
    p.add_argument("--bars", type=int, default=1_000_000, help="synthetic M1 bars (1,000,000)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each fast measurement (3)")
    p.add_argument(
        "--bt-repeats",
        type=int,
        default=None,
        help="timed runs of each Backtrader engine, ~100 s each at 1M bars (default 1; the "
        "engine check adds one more timed run of ours)",
    )
    p.add_argument("--seed", type=int, default=42, help="seed of the synthetic bars (42)")
    p.add_argument("--skip-bt", action="store_true", help="skip the Backtrader pair")
    p.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="BARS",
        help="cProfile our Backtrader runner on the first BARS bars and print the top entries",
    )
    p.add_argument(
        "--write-results", action="store_true", help="write the figures into bench/RESULTS.md"
    )
    args = p.parse_args(argv)
    if args.bars < 100 or args.repeats < 1:
        p.error("--bars must be at least 100 and --repeats at least 1")
    if args.bt_repeats is None:
        args.bt_repeats = 1
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


# --- raw Backtrader, the way a Backtrader user writes it ---------------------------------------


class RawSmaCross(bt.Strategy):
    params = (("fast", FAST), ("slow", SLOW), ("size", 1))

    def __init__(self) -> None:
        self.sma_fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        self.sma_slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.crossover = bt.indicators.CrossOver(self.sma_fast, self.sma_slow)
        self.fills: list[tuple[int, float, float, float]] = []  # bar, size, price, dt

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            ex = order.executed
            self.fills.append((len(self.data) - 1, ex.size, ex.price, ex.dt))

    def next(self) -> None:
        if not self.position:
            if self.crossover > 0:
                self.buy(size=self.p.size)
        elif self.crossover < 0:
            self.close()


@dataclass
class RawRun:
    trades: Trades
    final_equity: float
    fill_dt: list[float]
    sma_fast: F64
    sma_slow: F64


def run_raw_backtrader(bars: BarSeries) -> RawRun:
    frame = pd.DataFrame(
        {
            "open": bars.open,
            "high": bars.high,
            "low": bars.low,
            "close": bars.close,
            "volume": bars.volume,
        },
        index=pd.DatetimeIndex(bars.ts.astype("datetime64[us]")),
    )
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None))
    cerebro.addstrategy(RawSmaCross)
    cerebro.broker.setcash(CASH)
    (strat,) = cerebro.run()
    fills = strat.fills
    return RawRun(
        trades=Trades.from_fills(
            [f[0] for f in fills], [f[1] for f in fills], [f[2] for f in fills]
        ),
        final_equity=float(cerebro.broker.getvalue()),
        fill_dt=[f[3] for f in fills],
        sma_fast=np.asarray(strat.sma_fast.array, dtype=np.float64),
        sma_slow=np.asarray(strat.sma_slow.array, dtype=np.float64),
    )


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

    # (a)/(b) our Backtrader runner against raw Backtrader
    def backtrader_pair(self) -> None:
        b, n = self.bars, len(self.bars)
        cfg = backtest_config()
        strategy = load_strategy("sma_crossover")
        ours_res: BacktestResult | None = None
        raw: RawRun | None = None
        for r in range(self.args.bt_repeats):
            log(f" backtrader run {r + 1}/{self.args.bt_repeats}")

            def ours() -> BacktestResult:
                feats = talib_features(b.close)
                return run_backtrader({SYMBOL: b}, {SYMBOL: feats}, strategy, {}, cfg, "bench")

            dt, ours_res = timed(ours)
            self.record(OURS_BT, n, dt)
            dt, raw = timed(lambda: run_raw_backtrader(b))
            self.record(RAW_BT, n, dt)
        check(ours_res is not None and raw is not None, "no Backtrader run")
        assert ours_res is not None
        assert raw is not None
        self.compare_backtrader(ours_res, raw, cfg, strategy)

    def compare_backtrader(
        self, ours: BacktestResult, raw: RawRun, cfg: BacktestConfig, strategy: Any
    ) -> None:
        b = self.bars
        ts = b.ts
        ot = Trades.from_result(ours, ts)
        check(ot.equal(trades_from_result(ours, ts)), "our fills and our trades disagree")
        # Backtrader's own fill times (float days) agree with the bar index we recorded.
        raw_ts = [
            round((bt.num2date(d) - datetime(1970, 1, 1)).total_seconds() * 1e6)
            for d in raw.fill_dt
        ]
        idx = np.concatenate([raw.trades.entry_idx, raw.trades.exit_idx[raw.trades.exit_idx >= 0]])
        check(sorted(raw_ts) == sorted(ts[idx].tolist()), "raw Backtrader fill times vs bar index")
        ours_eq = float(ours.equity[-1])
        self.extra["bt_trades"] = (len(ot), len(raw.trades))
        self.extra["bt_equity"] = (ours_eq, raw.final_equity)
        # 1. SMA implementations: talib (ours) against Backtrader's fsum SMA.
        tf = talib_features(b.close)
        d_talib = tf["sma_fast"] - tf["sma_slow"]
        d_bt = raw.sma_fast - raw.sma_slow
        both = ~np.isnan(d_talib) & ~np.isnan(d_bt)
        sign_diff = both & (np.sign(d_talib) != np.sign(d_bt))
        ties = int(np.sum(d_bt[both] == 0.0))
        max_sma = max(
            float(np.nanmax(np.abs(tf["sma_fast"] - raw.sma_fast))),
            float(np.nanmax(np.abs(tf["sma_slow"] - raw.sma_slow))),
        )
        worst = float(np.max(np.abs(d_bt[sign_diff]))) if sign_diff.any() else 0.0
        self.extra["sma"] = (max_sma, int(sign_diff.sum()), ties, worst)
        same = ot.equal(raw.trades) and ours_eq == raw.final_equity
        if same:
            self.passed("ours (talib SMA) vs raw Backtrader: trades, entry/exit times and prices")
            self.passed("ours (talib SMA) vs raw Backtrader: final equity", f"{ours_eq!r} both")
        else:
            common = len(ot.keys() & raw.trades.keys())
            k = ot.first_difference(raw.trades)
            where = f"first at trade {k}" if k is not None else ""
            self.passed(
                "ours (talib SMA) vs raw Backtrader: trades",
                f"**differ**: {len(ot):,} vs {len(raw.trades):,} trades, {common:,} identical "
                f"(entry, exit) bars, {where}; final equity {ours_eq:.5f} vs "
                f"{raw.final_equity:.5f}. Cause: SMA rounding (below), not the engines",
            )
        self.passed(
            "talib SMA vs Backtrader SMA (fsum)",
            f"max abs difference {max_sma:.1e}; sign of fast - slow differs on "
            f"{int(sign_diff.sum())} bars, all with abs(fast - slow) <= {worst:.1e} "
            f"(Backtrader's SMAs exactly equal on {ties} bars)",
        )
        check(worst < 1e-11, f"a sign disagreement at |fast - slow| = {worst}")
        # 2. The engines: our runner on Backtrader's own SMA values must match exactly.
        log(" engine check: our runner on Backtrader's SMA values (timed, own row)")
        feats = {"sma_fast": raw.sma_fast.copy(), "sma_slow": raw.sma_slow.copy()}
        dt, same_sma = timed(
            lambda: run_backtrader({SYMBOL: b}, {SYMBOL: feats}, strategy, {}, cfg, "bench")
        )
        self.record(OURS_BT_CHECK, len(b), dt)
        st = Trades.from_result(same_sma, ts)
        warm_tie = d_bt[SLOW - 1] == 0.0 and d_bt[SLOW] > 0.0
        check(not warm_tie, "a tie on the first SMA 30 bar (warm-up definitions would differ)")
        check(
            st.equal(raw.trades),
            f"our runner on Backtrader's SMAs: {len(st)} trades vs {len(raw.trades)}, first "
            f"difference at {st.first_difference(raw.trades)}",
        )
        eq = float(same_sma.equity[-1])
        check(eq == raw.final_equity, f"final equity {eq!r} vs {raw.final_equity!r}")
        self.passed(
            "ours on Backtrader's SMA values vs raw Backtrader: every trade (entry/exit bar and "
            "price), final equity",
            f"identical: {len(st):,} trades, final equity {eq:.5f}",
        )

    def profile(self, bars: int) -> str:
        b = self.bars
        sub = BarSeries(
            ts=b.ts[:bars],
            open=b.open[:bars],
            high=b.high[:bars],
            low=b.low[:bars],
            close=b.close[:bars],
            volume=b.volume[:bars],
            line=b.line[:bars],
        )
        cfg = backtest_config()
        strategy = load_strategy("sma_crossover")
        feats = talib_features(sub.close)
        prof = cProfile.Profile()
        prof.enable()
        run_backtrader({SYMBOL: sub}, {SYMBOL: feats}, strategy, {}, cfg, "bench")
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
        return out.getvalue()


# --- the report ---------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    return machine_info(("numpy", "pandas", "numba", "TA-Lib", "backtrader"))


def goal_lines(bench: Bench) -> list[str]:
    r = bench.results
    rows = ["| goal | measured | target | met |", "|---|---:|---:|---|"]

    def yes(ok: bool) -> str:
        return "yes" if ok else "**no**"

    if OURS_BT in r and RAW_BT in r:
        ratio = r[OURS_BT].median / r[RAW_BT].median
        rows.append(
            f"| our Backtrader runner time / raw Backtrader time | {ratio:.2f}x | "
            f"<= {GOAL_BT_RATIO:.2f}x | {yes(ratio <= GOAL_BT_RATIO)} |"
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
        f"- Runs: {a.bt_repeats} of each Backtrader measurement, {a.repeats} of the others; "
        "medians. Timed: ours = talib.SMA features + `run_backtrader` (feed, run, fills, "
        "trades, equity, exposure); raw = DataFrame + PandasData + `cerebro.run()` (its "
        "indicators included). The vectorised engine against vectorbt: section `vector` "
        "(`bench.vector_bench`).",
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
    if args.profile:
        log(bench.profile(min(args.profile, len(bars))))
        return 0
    if not args.skip_bt:
        bench.backtrader_pair()
    seconds = time.perf_counter() - began
    text = render(bench, machine(), command_line("bench.backtest_bench", argv), seconds)
    publish("backtest", text, HEADER, args.write_results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
