"""Turn a timestamp column of any common shape into int64 UTC epoch microseconds."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tradewind.marketdata.issues import RowIssues

_UNIT_TO_US = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0}


def to_epoch_us(
    col: pa.ChunkedArray | pa.Array, timezone: str, epoch_unit: str, issues: RowIssues
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Return (microseconds, unusable mask); every unusable cell gets a reason in ``issues``."""
    null = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    issues.add(null, "timestamp is missing")
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            us = _arrow_us(pc.cast(col, pa.timestamp("us", tz="UTC"), safe=False))
            return us, null
        return _localize(
            _arrow_us(pc.cast(col, pa.timestamp("us"), safe=False)), null, timezone, issues
        )
    if pa.types.is_date(t):
        return _localize(
            _arrow_us(pc.cast(pc.cast(col, pa.timestamp("s")), pa.timestamp("us"))),
            null,
            timezone,
            issues,
        )
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return _epoch(
            np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64),
            null,
            epoch_unit,
            issues,
        )
    return _strings(pd.Series(col.to_pandas(), dtype=object), null, timezone, epoch_unit, issues)


def _arrow_us(col: pa.ChunkedArray | pa.Array) -> npt.NDArray[np.int64]:
    ints = pc.cast(col, pa.int64())
    return np.asarray(pc.fill_null(ints, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _epoch(
    x: npt.NDArray[np.float64], null: npt.NDArray[np.bool_], unit: str, issues: RowIssues
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    bad = ~null & ~np.isfinite(x)
    issues.add(bad, "timestamp is not finite")
    x = np.where(null | bad, 0, x)
    us = x // 1000 if unit == "ns" else x * _UNIT_TO_US[unit]
    return np.round(us).astype(np.int64), null | bad


def _localize(
    naive_us: npt.NDArray[np.int64], null: npt.NDArray[np.bool_], tz: str, issues: RowIssues
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    if tz == "UTC":
        return naive_us, null
    idx = pd.DatetimeIndex(naive_us.astype("datetime64[us]"))
    local = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = np.asarray(local.isna()) & ~null
    issues.add(bad, f"local time is ambiguous or does not exist in {tz} (a DST change)")
    us = np.asarray(local.tz_convert("UTC").tz_localize(None).asi8, dtype=np.int64)
    return np.where(null | bad, 0, us), null | bad


def _strings(
    s: pd.Series, null: npt.NDArray[np.bool_], tz: str, unit: str, issues: RowIssues
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    text = s.where(~null, None)
    try:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        aware = isinstance(parsed.dtype, pd.DatetimeTZDtype)
    except (ValueError, TypeError):  # mixed offsets in one column: each converts by its own
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
        aware = True
    if aware:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    failed = np.asarray(parsed.isna()) & ~null
    us = np.asarray(parsed.astype("datetime64[us]").to_numpy().astype(np.int64))
    unusable = null.copy()
    if failed.any():
        # Numbers in a text column are epoch times (UTC by definition); anything else is bad.
        rows = np.flatnonzero(failed)
        num = pd.to_numeric(s.iloc[rows], errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(num)
        if ok.any():
            n_ok = int(ok.sum())
            us[rows[ok]], _ = _epoch(num[ok], np.zeros(n_ok, bool), unit, RowIssues(n_ok))
        bad_rows = rows[~ok]
        issues.add_each(
            bad_rows.astype(np.int64), [f"unparseable timestamp {s.iat[i]!r}" for i in bad_rows]
        )
        unusable[bad_rows] = True
    if not aware and tz != "UTC":
        iso = ~null & ~failed
        local, bad = _localize(np.where(iso, us, 0), ~iso, tz, issues)
        us = np.where(iso, local, us)
        unusable |= bad & iso
    return np.where(unusable, 0, us).astype(np.int64), unusable
