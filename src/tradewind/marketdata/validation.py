"""Bar validation: each bad row gets a reason and goes to quarantine. Nothing is fixed."""

from __future__ import annotations

import numpy as np

from tradewind.domain import BarSeries, Timeframe
from tradewind.domain.series import PRICE_FIELDS
from tradewind.marketdata.issues import Mask, RowIssues


def _iso(us: int) -> str:
    return str(np.datetime64(us, "us").astype("datetime64[s]")) + "Z"


def validate_bars(
    bars: BarSeries,
    timeframe: Timeframe,
    issues: RowIssues,
    unparsed: dict[str, Mask] | None = None,
) -> RowIssues:
    """Add every value, grid, duplicate and ordering problem of ``bars`` to ``issues``.

    ``unparsed`` marks, per column (``ts`` included), cells the reader already found missing
    or unparseable, so they are not reported twice. Duplicate and order checks look only at
    rows that pass the per-row checks.
    """
    unparsed = unparsed or {}
    none = np.zeros(len(bars), dtype=bool)
    values = {name: getattr(bars, name) for name in (*PRICE_FIELDS, "volume")}
    with np.errstate(invalid="ignore"):
        for name, x in values.items():
            issues.add(~np.isfinite(x) & ~unparsed.get(name, none), f"{name} is not finite")
        for name in PRICE_FIELDS:
            issues.add(values[name] <= 0, f"{name} is not positive")
        o, h, low, c = bars.open, bars.high, bars.low, bars.close
        issues.add(h < np.maximum(o, c), "high below max(open, close)")
        issues.add(low > np.minimum(o, c), "low above min(open, close)")
        issues.add(bars.volume < 0, "volume is negative")
    ts_ok = ~unparsed.get("ts", none)
    step = timeframe.seconds * 1_000_000
    issues.add(ts_ok & (bars.ts % step != 0), f"timestamp not on the {timeframe.value} grid")
    _duplicates_and_order(bars, issues, ~issues.bad)
    return issues


def _duplicates_and_order(bars: BarSeries, issues: RowIssues, ok: Mask) -> None:
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return
    ts = bars.ts[idx]
    lines = bars.lines[idx]
    # Duplicates: rows sharing a timestamp. Identical copies: the later ones are quarantined.
    # Copies that differ: all of them are, since nothing says which one is right.
    order = np.argsort(ts, kind="stable")
    sts = ts[order]
    same_as_prev = np.r_[False, sts[1:] == sts[:-1]]
    if same_as_prev.any():
        starts = np.flatnonzero(~same_as_prev)
        group = np.cumsum(~same_as_prev) - 1
        sizes = np.bincount(group)
        dup_groups = np.flatnonzero(sizes > 1)
        rows_out: list[int] = []
        reasons: list[str] = []
        vals = np.column_stack(
            [getattr(bars, f)[idx] for f in ("open", "high", "low", "close", "volume")]
        )
        for g in dup_groups.tolist():
            members = order[starts[g] : starts[g] + sizes[g]]
            first = members[0]
            identical = bool((vals[members] == vals[first]).all())
            where = ", ".join(str(x) for x in lines[members].tolist())
            if identical:
                for m in members[1:].tolist():
                    rows_out.append(int(idx[m]))
                    reasons.append(f"duplicate of line {lines[first]} ({_iso(int(ts[first]))})")
            else:
                for m in members.tolist():
                    rows_out.append(int(idx[m]))
                    reasons.append(
                        f"conflicting duplicates at {_iso(int(ts[first]))} (lines {where})"
                    )
        issues.add_each(np.asarray(rows_out, dtype=np.int64), reasons)
    # Order: a row earlier than some row above it is out of order.
    runmax = np.maximum.accumulate(ts)
    late = np.r_[False, ts[1:] < runmax[:-1]]
    if late.any():
        new_max = np.r_[True, ts[1:] > runmax[:-1]]
        at = np.maximum.accumulate(np.where(new_max, np.arange(len(ts)), 0))
        prev = np.r_[0, at[:-1]]
        rows = np.flatnonzero(late)
        issues.add_each(
            idx[rows].astype(np.int64),
            [
                f"out of order: earlier than line {lines[prev[r]]} ({_iso(int(ts[prev[r]]))})"
                for r in rows.tolist()
            ],
        )
