"""Bars in and out, fast: bulk ingest with duplicate/conflict accounting, range reads to numpy.

Ingest runs in the caller's transaction, so a batch, its bars and its quarantine commit
together or not at all. When the incoming range overlaps nothing stored, rows go straight into
``bars`` (COPY on Postgres); otherwise through a staging table, where duplicates and conflicts
with stored bars are found before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from tradewind.config.imports import ConflictPolicy
from tradewind.domain import BarSeries, PriceSide, Timeframe
from tradewind.domain.series import VALUE_FIELDS
from tradewind.storage import bars_pg, bars_sqlite
from tradewind.storage.schema import BarRow, BarSeriesRow
from tradewind.storage.types import UtcDateTime, datetime_to_us, us_to_datetime


@dataclass(frozen=True)
class BarKey:
    instrument_id: int
    timeframe: Timeframe
    side: PriceSide


@dataclass(frozen=True)
class Conflict:
    """An incoming row whose key is stored with different values."""

    line: int
    ts_us: int
    incoming: dict[str, float]
    stored: dict[str, float]
    stored_batch: int

    def reason(self) -> str:
        diffs = [
            f"{k} {self.stored[k]!r} stored, {self.incoming[k]!r} here"
            for k in VALUE_FIELDS
            if self.stored[k] != self.incoming[k]
        ]
        return f"conflicts with the stored bar from batch {self.stored_batch}: " + ", ".join(diffs)


@dataclass
class MergeResult:
    inserted: int = 0
    duplicates: int = 0
    overwritten: int = 0
    conflicts: list[Conflict] = field(default_factory=list)


class ConflictAbort(RuntimeError):
    """Raised under the ``fail`` policy; the transaction rolls back and nothing is written."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        first = conflicts[0]
        super().__init__(
            f"{len(conflicts)} row(s) conflict with stored bars (first: line {first.line}: "
            f"{first.reason()}); nothing was written (policy: fail)"
        )
        self.conflicts = conflicts


def series_id(conn: Connection, key: BarKey, create: bool = False) -> int | None:
    """The id of the series (instrument, timeframe, side); created on first write."""
    where = (
        (BarSeriesRow.instrument_id == key.instrument_id)
        & (BarSeriesRow.timeframe == key.timeframe.value)
        & (BarSeriesRow.side == key.side.value)
    )
    found = conn.scalar(select(BarSeriesRow.id).where(where))
    if found is not None or not create:
        return found
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(BarSeriesRow)
        .values(instrument_id=key.instrument_id, timeframe=key.timeframe.value, side=key.side.value)
        .on_conflict_do_nothing()
    )
    return conn.scalar(select(BarSeriesRow.id).where(where))


def _overlaps(conn: Connection, sid: int, bars: BarSeries) -> bool:
    q = text(
        "SELECT 1 FROM bars WHERE series_id = :sid AND ts >= :lo AND ts <= :hi LIMIT 1"
    ).bindparams(bindparam("lo", type_=UtcDateTime()), bindparam("hi", type_=UtcDateTime()))
    params = {
        "sid": sid,
        "lo": us_to_datetime(int(bars.ts.min())),
        "hi": us_to_datetime(int(bars.ts.max())),
    }
    return conn.execute(q, params).first() is not None


def merge_bars(
    conn: Connection, key: BarKey, bars: BarSeries, batch_id: int, policy: ConflictPolicy
) -> MergeResult:
    """Write ``bars`` (already validated, unique and sorted by ts) under ``key``."""
    if len(bars) == 0:
        return MergeResult()
    impl = bars_pg if conn.dialect.name == "postgresql" else bars_sqlite
    sid = series_id(conn, key, create=True)
    assert sid is not None
    if not _overlaps(conn, sid, bars):
        inserted = impl.insert_new(conn, sid, bars, batch_id)
        if inserted is not None:
            return MergeResult(inserted=inserted)
    conflicts = impl.stage(conn, sid, bars)
    if conflicts and policy is ConflictPolicy.FAIL:
        impl.drop_stage(conn)
        raise ConflictAbort(conflicts)
    inserted = impl.insert_staged(conn, sid, batch_id)
    overwritten = 0
    if conflicts and policy is ConflictPolicy.OVERWRITE:
        overwritten = impl.overwrite_staged(conn, sid, batch_id)
    impl.drop_stage(conn)
    dups = len(bars) - inserted - len(conflicts)
    return MergeResult(inserted, dups, overwritten, conflicts)


def read_bars(
    conn: Connection,
    key: BarKey,
    start: datetime | None = None,
    end: datetime | None = None,
) -> BarSeries:
    """Bars with ``start <= ts < end`` (either bound optional), ordered by time."""
    sid = series_id(conn, key)
    if sid is None:
        return BarSeries.empty()
    impl = bars_pg if conn.dialect.name == "postgresql" else bars_sqlite
    cols = impl.read_range(conn, sid, start, end)
    return BarSeries(**{k: np.ascontiguousarray(v) for k, v in cols.items()})


def last_bar_us(conn: Connection, key: BarKey, start_us: int, end_us: int) -> int | None:
    """The open time (epoch µs) of the newest stored bar of ``key`` in ``[start, end)``."""
    sid = series_id(conn, key)
    if sid is None:
        return None
    last = conn.scalar(
        select(func.max(BarRow.ts)).where(
            BarRow.series_id == sid,
            BarRow.ts >= us_to_datetime(start_us),
            BarRow.ts < us_to_datetime(end_us),
        )
    )
    if last is None:
        return None
    return datetime_to_us(last if last.tzinfo is not None else last.replace(tzinfo=UTC))


def conflict_rows(raw: list[tuple[Any, ...]]) -> list[Conflict]:
    """Rows of (line, ts_us, 5 incoming values, 5 stored values, stored batch) -> Conflicts."""
    out = []
    for r in raw:
        inc = dict(zip(VALUE_FIELDS, (float(x) for x in r[2:7]), strict=True))
        sto = dict(zip(VALUE_FIELDS, (float(x) for x in r[7:12]), strict=True))
        out.append(Conflict(int(r[0]), int(r[1]), inc, sto, int(r[12])))
    return out
