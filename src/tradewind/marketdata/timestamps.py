"""Turn a timestamp column of any common shape into int64 UTC epoch microseconds.

Nothing is rounded onto a grid: a sub-microsecond part, which no bar grid has, makes the row
unusable with a reason rather than being truncated away.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tradewind.marketdata.issues import RowIssues

Mask = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_SUB_US = "timestamp not on the grid: it has a sub-microsecond part"
_RANGE = "timestamp out of range (check --epoch-unit)"
_MAX_US = 2**62  # far beyond any real date; keeps the µs arithmetic clear of int64 overflow
_OFFSET = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)\s*$"


def to_epoch_us(
    col: pa.ChunkedArray | pa.Array, timezone: str, epoch_unit: str, issues: RowIssues
) -> tuple[I64, Mask]:
    """Return (microseconds, unusable mask); every unusable cell gets a reason in ``issues``."""
    null = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    issues.add(null, "timestamp is missing")
    t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        unit = t.unit if pa.types.is_timestamp(t) else "s"
        naive = pa.types.is_date(t) or t.tz is None
        ints = pc.cast(
            col if pa.types.is_timestamp(t) else pc.cast(col, pa.timestamp("s")), pa.int64()
        )
        raw = np.asarray(pc.fill_null(ints, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        us, bad = _scale_int(raw, unit, null, issues)
        if naive:
            return _localize(us, null | bad, timezone, issues)
        return us, null | bad
    if pa.types.is_integer(t):
        raw = np.asarray(pc.fill_null(col, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        return _scale_int(raw, epoch_unit, null, issues)
    if pa.types.is_floating(t):
        x = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
        return _scale_float(x, epoch_unit, null, issues)
    return _strings(pd.Series(col.to_pandas(), dtype=object), null, timezone, epoch_unit, issues)


def _scale_int(raw: I64, unit: str, null: Mask, issues: RowIssues) -> tuple[I64, Mask]:
    """Integers in ``unit`` since the epoch -> µs, exactly (no float on the way)."""
    per = _NS_PER[unit]
    if per >= 1_000:
        factor = per // 1_000
        out_of_range = ~null & (np.abs(raw) > _MAX_US // factor)
        issues.add(out_of_range, _RANGE)
        return np.where(out_of_range, 0, raw * factor), null | out_of_range
    sub = ~null & (raw % 1_000 != 0)
    issues.add(sub, _SUB_US)
    return np.where(sub, 0, raw // 1_000), null | sub


def _scale_float(
    x: npt.NDArray[np.float64], unit: str, null: Mask, issues: RowIssues
) -> tuple[I64, Mask]:
    bad = ~null & ~np.isfinite(x)
    issues.add(bad, "timestamp is not finite")
    us = np.where(null | bad, 0.0, x) * (_NS_PER[unit] / 1_000)
    out_of_range = ~null & ~bad & (np.abs(us) > _MAX_US)
    issues.add(out_of_range, _RANGE)
    rounded = np.round(us)
    # Float spacing near today's epoch µs is 0.25 µs: anything further off than that is real.
    sub = ~null & ~bad & ~out_of_range & (np.abs(us - rounded) > 0.3)
    issues.add(sub, _SUB_US)
    unusable = null | bad | out_of_range | sub
    return np.where(unusable, 0, rounded).astype(np.int64), unusable


def _localize(naive_us: I64, skip: Mask, tz: str, issues: RowIssues) -> tuple[I64, Mask]:
    """Wall-clock times in ``tz`` -> UTC; DST gaps and overlaps become reasons, not guesses."""
    if tz == "UTC":
        return naive_us, skip
    idx = pd.DatetimeIndex(np.where(skip, 0, naive_us).astype("datetime64[us]"))
    local = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = np.asarray(local.isna()) & ~skip
    issues.add(bad, f"local time is ambiguous or does not exist in {tz} (a DST change)")
    us = np.asarray(local.tz_convert("UTC").tz_localize(None).as_unit("us").asi8, dtype=np.int64)
    return np.where(skip | bad, 0, us), skip | bad


def _parse_iso(text: pd.Series, utc: bool) -> tuple[I64, Mask]:
    """ISO 8601 text -> (ns since the epoch, failed); aware values converted to UTC."""
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    failed = np.asarray(parsed.isna())
    ns = parsed.astype("datetime64[ns]").to_numpy().view(np.int64)
    return np.where(failed, 0, ns), failed


def _strings(s: pd.Series, null: Mask, tz: str, unit: str, issues: RowIssues) -> tuple[I64, Mask]:
    text = s.where(~null, None).astype(object)
    stripped = text.where(~null, "").astype(str).str.strip()
    has_offset = stripped.str.contains(_OFFSET, regex=True).to_numpy() & ~null
    ns = np.zeros(len(s), dtype=np.int64)
    failed = np.zeros(len(s), dtype=bool)
    local = ~null & ~has_offset
    for part, utc in ((has_offset, True), (local, False)):
        if part.any():
            ns[part], failed[part] = _parse_iso(text[part], utc)
    unusable = null.copy()
    sub = ~failed & ~null & (ns % 1_000 != 0)
    issues.add(sub, _SUB_US)
    unusable |= sub
    us = ns // 1_000
    if failed.any():
        # Numbers in a text column are epoch times (UTC by definition); anything else is bad.
        rows = np.flatnonzero(failed)
        num = pd.to_numeric(s.iloc[rows], errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(num)
        if ok.any():
            n_ok = int(ok.sum())
            sub_issues = RowIssues(n_ok)
            got, bad = _scale_float(num[ok], unit, np.zeros(n_ok, bool), sub_issues)
            us[rows[ok]] = got
            for i, reason in sub_issues.reasons().items():
                issues.add_each(np.array([rows[ok][i]], dtype=np.int64), [reason])
            unusable[rows[ok]] |= bad
        bad_rows = rows[~ok]
        issues.add_each(
            bad_rows.astype(np.int64), [f"unparseable timestamp {s.iat[i]!r}" for i in bad_rows]
        )
        unusable[bad_rows] = True
    if tz != "UTC" and local.any():
        iso_local = local & ~failed & ~unusable
        converted, bad = _localize(us, ~iso_local, tz, issues)
        us = np.where(iso_local, converted, us)
        unusable |= bad & iso_local
    return np.where(unusable, 0, us).astype(np.int64), unusable
