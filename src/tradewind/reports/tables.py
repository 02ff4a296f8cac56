"""The tear sheet's tables, as plain data: a benchmark's equity, the worst drawdowns, the cost
breakdown, exit reasons and the trade list as CSV. No HTML here (``tearsheet`` renders)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from tradewind.backtest.result import BacktestResult, Trade

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Benchmark:
    """Buy-and-hold of one instrument: its closes at its bar times."""

    label: str  # e.g. "Buy and hold EUR_USD"
    ts_us: npt.NDArray[np.int64]
    close: FloatArray

    def equity(self, ts_us: npt.NDArray[np.int64], start_value: float) -> FloatArray | None:
        """Its value on ``ts_us`` (the last close at or before each time), starting at
        ``start_value``; None when it has no price at the first time or a non-positive one."""
        ts = np.asarray(ts_us, dtype=np.int64)
        if len(ts) == 0 or len(self.ts_us) == 0:
            return None
        at = np.searchsorted(self.ts_us, ts, side="right") - 1
        if at[0] < 0:
            return None
        close = np.asarray(self.close, dtype=np.float64)[at]
        if not close[0] > 0:
            return None
        return start_value * close / close[0]


@dataclass(frozen=True)
class Drawdown:
    peak: int  # bar index of the peak it fell from
    trough: int
    recovery: int | None  # first bar back at the peak; None if never
    depth: float  # fraction, < 0


def worst_drawdowns(equity: npt.ArrayLike, n: int = 5) -> list[Drawdown]:
    """The ``n`` deepest drawdown episodes (as ``metrics.drawdown_stats`` defines them: from
    a peak to the first bar that regains it), deepest first."""
    e = np.asarray(equity, dtype=np.float64)
    if e.size < 2:
        return []
    peak = np.maximum.accumulate(e)
    under = e < peak
    edges = np.diff(under.astype(np.int8), append=np.int8(0))
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    dd = e / peak - 1.0
    out = []
    for s, t in zip(starts.tolist(), ends.tolist(), strict=True):
        trough = s + int(np.argmin(dd[s:t]))
        out.append(Drawdown(s - 1, trough, t if t < e.size else None, float(dd[trough])))
    out.sort(key=lambda d: d.depth)
    return out[:n]


@dataclass(frozen=True)
class Costs:
    """What a strategy paid, in account currency: commission, half spreads and slippage on
    its fills (NaN when a stored run did not record them), and financing at the rollovers
    (negative: received; None for runs stored before the engines modelled it)."""

    commission: float
    spread: float
    slippage: float
    financing: float | None = None

    @property
    def total(self) -> float:
        return self.commission + self.spread + self.slippage + (self.financing or 0.0)


def cost_breakdown(result: BacktestResult) -> Costs:
    fills = result.fills
    return Costs(
        commission=math.fsum(f.commission for f in fills),
        spread=math.fsum(f.spread_cost for f in fills),
        slippage=math.fsum(f.slippage_cost for f in fills),
        financing=result.financing,
    )


@dataclass(frozen=True)
class ReasonRow:
    reason: str
    trades: int
    wins: int
    pnl: float

    @property
    def win_rate(self) -> float:
        return self.wins / self.trades if self.trades else math.nan


REASON_LABELS = {
    "signal": "Signal",
    "stop": "Stop",
    "limit": "Limit (take-profit)",
    "end_of_data": "Open at end of data",
    "": "Not recorded",
}


def exit_reasons(trades: Sequence[Trade]) -> list[ReasonRow]:
    """Trades, wins and P&L per exit reason, most frequent first."""
    rows: dict[str, list[float]] = {}
    for t in trades:
        rows.setdefault(t.exit_reason, []).append(t.pnl)
    out = [ReasonRow(r, len(p), sum(1 for x in p if x > 0), math.fsum(p)) for r, p in rows.items()]
    out.sort(key=lambda r: (-r.trades, r.reason))
    return out


def ts_text(ts_us: int | None) -> str:
    if ts_us is None:
        return ""
    return datetime.fromtimestamp(ts_us / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M")


CSV_COLUMNS = (
    "n",
    "instrument",
    "side",
    "entry_time_utc",
    "exit_time_utc",
    "exit_reason",
    "units",
    "entry_price",
    "exit_price",
    "pnl",
    "commission",
    "bars_held",
    "mae",
    "mfe",
    "mae_pips",
    "mfe_pips",
)


def trades_csv(trades: Sequence[Trade], pip_locations: Mapping[str, int]) -> str:
    """Every trade, one row each (``CSV_COLUMNS``); prices at full precision, an open
    trade's exit time and price empty, pips empty for an instrument of unknown pip size."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for i, t in enumerate(trades, start=1):
        pip = pip_locations.get(t.instrument)
        w.writerow(
            (
                i,
                t.instrument,
                "long" if t.units > 0 else "short",
                ts_text(t.entry_ts_us),
                ts_text(t.exit_ts_us),
                t.exit_reason,
                repr(t.units),
                repr(t.entry_price),
                "" if t.exit_price is None else repr(t.exit_price),
                repr(t.pnl),
                repr(t.commission),
                t.bars_held,
                repr(t.mae),
                repr(t.mfe),
                "" if pip is None else f"{t.mae_pips(pip):.2f}",
                "" if pip is None else f"{t.mfe_pips(pip):.2f}",
            )
        )
    return buf.getvalue()
