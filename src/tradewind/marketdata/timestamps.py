"""Turn a timestamp column of any common shape into int64 UTC epoch microseconds.

Nothing is rounded onto a grid: a sub-microsecond part, which no bar grid has, makes the row
unusable with a reason rather than being truncated away.

Text is ISO 8601 unless a strftime ``time_format`` is given (``%d/%m/%Y %H:%M`` for day-first
dates). A text column that is mostly not ISO 8601 is refused as a whole, naming the formats
that would read every value (both when day-first and month-first both fit: the file cannot
say which it is).

``days``: the timestamps label trading days (daily bars). A naive value at local midnight is
then the exchange-local date of the bar and is stored at 00:00 UTC of that date, where the
daily grid is, rather than converted as an instant (``2024-01-02`` in New York is the bar of
2 January, not 05:00 UTC).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tradewind.marketdata.columns import ImportFileError
from tradewind.marketdata.issues import RowIssues

Mask = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]

_NS_PER = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_SUB_US = "timestamp not on the grid: it has a sub-microsecond part"
_RANGE = "timestamp out of range (check --epoch-unit)"
_MAX_US = 2**62  # far beyond any real date; keeps the µs arithmetic clear of int64 overflow
_OFFSET = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)\s*$"
_DAY_US = 86_400_000_000
_TIMES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", "T%H:%M:%S")
_DATES = tuple(
    sep.join(order)
    for sep in ("/", "-", ".")
    for order in (("%d", "%m", "%Y"), ("%m", "%d", "%Y"), ("%Y", "%m", "%d"))
)
CANDIDATE_FORMATS = tuple(d + t for d in _DATES for t in _TIMES)


def to_epoch_us(
    col: pa.ChunkedArray | pa.Array,
    timezone: str,
    epoch_unit: str,
    issues: RowIssues,
    time_format: str | None = None,
    days: bool = False,
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
            return _localize(us, null | bad, timezone, issues, days)
        return us, null | bad
    if pa.types.is_integer(t):
        raw = np.asarray(pc.fill_null(col, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        return _scale_int(raw, epoch_unit, null, issues)
    if pa.types.is_floating(t):
        x = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
        return _scale_float(x, epoch_unit, null, issues)
    text = pd.Series(col.to_pandas(), dtype=object)
    return _strings(text, null, timezone, epoch_unit, issues, time_format, days)


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


def _localize(
    naive_us: I64, skip: Mask, tz: str, issues: RowIssues, days: bool = False
) -> tuple[I64, Mask]:
    """Wall-clock times in ``tz`` -> UTC; DST gaps and overlaps become reasons, not guesses.
    With ``days``, local midnights are dates and stay at 00:00 UTC of that date."""
    if tz == "UTC":
        return naive_us, skip
    if days:
        dates = ~skip & (naive_us % _DAY_US == 0)
        if dates.any():
            us, bad = _localize(naive_us, skip | dates, tz, issues)
            return np.where(dates, naive_us, us), bad & ~dates
    idx = pd.DatetimeIndex(np.where(skip, 0, naive_us).astype("datetime64[us]"))
    local = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = np.asarray(local.isna()) & ~skip
    issues.add(bad, f"local time is ambiguous or does not exist in {tz} (a DST change)")
    us = np.asarray(local.tz_convert("UTC").tz_localize(None).as_unit("us").asi8, dtype=np.int64)
    return np.where(skip | bad, 0, us), skip | bad


def _parse_iso(text: pd.Series, utc: bool, fmt: str = "ISO8601") -> tuple[I64, Mask]:
    """ISO 8601 (or ``fmt``) text -> (ns since the epoch, failed); aware values to UTC."""
    parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    failed = np.asarray(parsed.isna())
    ns = parsed.astype("datetime64[ns]").to_numpy().view(np.int64)
    return np.where(failed, 0, ns), failed


def _fitting_formats(values: pd.Series) -> list[str]:
    """The candidate strftime formats that read every one of ``values``."""
    sample = values.astype(str).str.strip().head(500)
    return [
        f
        for f in CANDIDATE_FORMATS
        if not pd.to_datetime(sample, format=f, errors="coerce").isna().any()
    ]


def _refuse_non_iso(s: pd.Series, failed: Mask, null: Mask) -> None:
    """Most text is neither ISO 8601 nor a number: name the format(s) that read it all."""
    if int(failed.sum()) * 2 <= int((~null).sum()):
        return
    rows = np.flatnonzero(failed)
    if np.isfinite(pd.to_numeric(s.iloc[rows], errors="coerce").to_numpy(np.float64)).any():
        return
    example = str(s.iat[int(rows[0])]).strip()
    fits = _fitting_formats(s.iloc[np.flatnonzero(~null)])
    if not fits:
        return  # no common format: every row is quarantined with its own reason
    options = " or ".join(f"--time-format '{f}'" for f in fits[:2])
    ambiguous = " (both read every value: check which one the file uses)" if len(fits) > 1 else ""
    raise ImportFileError(
        f"timestamps such as {example!r} are not ISO 8601: give their format, {options}"
        f"{ambiguous}; nothing was stored"
    )


def _strings(
    s: pd.Series,
    null: Mask,
    tz: str,
    unit: str,
    issues: RowIssues,
    time_format: str | None = None,
    days: bool = False,
) -> tuple[I64, Mask]:
    text = s.where(~null, None).astype(object)
    stripped = text.where(~null, "").astype(str).str.strip()
    ns = np.zeros(len(s), dtype=np.int64)
    failed = np.zeros(len(s), dtype=bool)
    if time_format is not None:
        aware = "%z" in time_format or "%Z" in time_format
        has_offset = ~null if aware else np.zeros(len(s), dtype=bool)
        local = ~null & ~has_offset
        part = ~null
        if part.any():
            ns[part], failed[part] = _parse_iso(stripped[part], aware, time_format)
        unusable = null | failed
        issues.add(failed, f"timestamp does not match --time-format {time_format!r}")
        sub = ~unusable & (ns % 1_000 != 0)
        issues.add(sub, _SUB_US)
        unusable |= sub
        us = ns // 1_000
        if tz != "UTC" and local.any():
            converted, bad = _localize(us, ~(local & ~unusable), tz, issues, days)
            us = np.where(local & ~unusable, converted, us)
            unusable |= bad & local
        return np.where(unusable, 0, us).astype(np.int64), unusable
    has_offset = stripped.str.contains(_OFFSET, regex=True).to_numpy() & ~null
    local = ~null & ~has_offset
    for part, utc in ((has_offset, True), (local, False)):
        if part.any():
            ns[part], failed[part] = _parse_iso(text[part], utc)
    _refuse_non_iso(s, failed, null)
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
        converted, bad = _localize(us, ~iso_local, tz, issues, days)
        us = np.where(iso_local, converted, us)
        unusable |= bad & iso_local
    return np.where(unusable, 0, us).astype(np.int64), unusable
