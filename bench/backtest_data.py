"""The backtest benchmarks' shared parts: the synthetic M1 bars (cached in bench/.data), the
SMA 10/30 crossover's configuration and features, and trade lists to compare engines by.

``bench.bt_bench`` (our Backtrader runner against raw Backtrader) and ``bench.vector_bench``
(the vectorised engine against vectorbt, and the parameter grid) run on these bars: long-only,
1 unit, no costs, decided on bar t's close and filled at bar t+1's open.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import talib

from bench.common import check
from tradewind.backtest.result import BacktestResult
from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig, Sizing, SizingMethod, StrategySpec
from tradewind.domain import PriceSide, Timeframe
from tradewind.domain.series import BarSeries
from tradewind.marketdata.synthetic import generate_bars
from tradewind.pipelines.synthetic import side_series

F64 = npt.NDArray[np.float64]
DATA_DIR = Path(__file__).parent / ".data"
SYMBOL = "EUR_USD"
FAST, SLOW = 10, 30
CASH = 100_000.0
PERIODS_PER_YEAR = 260 * 1440  # M1 FX bars in a year (weekdays)

HEADER = """# Benchmark results

Written by the benchmarks' `--write-results` (`make bench` runs them all). Sections between
`bench:begin`/`bench:end` markers are regenerated; text outside them is kept.
"""


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
