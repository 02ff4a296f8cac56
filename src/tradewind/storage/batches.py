"""Ingest batches and the quarantine: one batch per import, committed with its bars."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.orm import Session

from tradewind.storage.schema import (
    BarRow,
    BarSeriesRow,
    IngestBatchRow,
    InstrumentRow,
    QuarantineRow,
    VendorRow,
)


@dataclass(frozen=True)
class QuarantineItem:
    line: int | None
    reason: str
    raw: dict[str, Any]
    category: str = "invalid"  # invalid | conflict


def open_batch(conn: Connection, **values: Any) -> int:
    """Insert the batch row (status ``committed``: it only exists if the transaction commits)."""
    res = conn.execute(
        insert(IngestBatchRow).values(status="committed", started_at=datetime.now(UTC), **values)
    )
    return int(res.inserted_primary_key[0])  # type: ignore[index]  # set by any INSERT


def close_batch(conn: Connection, batch_id: int, **counts: Any) -> None:
    conn.execute(
        update(IngestBatchRow)
        .where(IngestBatchRow.id == batch_id)
        .values(finished_at=datetime.now(UTC), **counts)
    )


def add_quarantine(conn: Connection, batch_id: int, items: Sequence[QuarantineItem]) -> None:
    if items:
        conn.execute(
            insert(QuarantineRow),
            [
                {
                    "batch_id": batch_id,
                    "category": q.category,
                    "line": q.line,
                    "reason": q.reason,
                    "raw": q.raw,
                }
                for q in items
            ],
        )


def list_quarantine(
    conn: Connection, batch_id: int | None = None, limit: int | None = None
) -> list[QuarantineRow]:
    q = select(QuarantineRow).order_by(QuarantineRow.batch_id, QuarantineRow.line)
    if batch_id is not None:
        q = q.where(QuarantineRow.batch_id == batch_id)
    if limit is not None:
        q = q.limit(limit)
    return list(Session(conn).scalars(q))


def get_batch(conn: Connection, batch_id: int) -> IngestBatchRow | None:
    return (
        Session(conn)
        .scalars(select(IngestBatchRow).where(IngestBatchRow.id == batch_id))
        .one_or_none()
    )


def list_batches(conn: Connection, limit: int = 50) -> list[IngestBatchRow]:
    q = select(IngestBatchRow).order_by(IngestBatchRow.id.desc()).limit(limit)
    return list(Session(conn).scalars(q))


def has_synthetic_batch(conn: Connection, symbols: Sequence[str], timeframe: str) -> bool:
    """Whether any of ``symbols`` at ``timeframe`` was ever imported from a synthetic vendor."""
    found = conn.scalar(
        select(IngestBatchRow.id)
        .join(VendorRow, VendorRow.id == IngestBatchRow.vendor_id)
        .join(InstrumentRow, InstrumentRow.id == IngestBatchRow.instrument_id)
        .where(
            VendorRow.synthetic.is_(True),
            InstrumentRow.symbol.in_(list(symbols)),
            IngestBatchRow.timeframe == timeframe,
        )
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class SeriesSummary:
    instrument: str
    timeframe: str
    side: str
    vendor: str
    synthetic: bool
    bars: int
    first: datetime
    last: datetime


def summarize_bars(conn: Connection) -> list[SeriesSummary]:
    """One line per stored series and vendor (the vendor of a bar is its batch's vendor)."""
    per_batch = (
        select(
            BarRow.series_id,
            BarRow.batch_id,
            func.count().label("n"),
            func.min(BarRow.ts).label("first"),
            func.max(BarRow.ts).label("last"),
        )
        .group_by(BarRow.series_id, BarRow.batch_id)
        .subquery()
    )
    q = (
        select(
            InstrumentRow.symbol,
            BarSeriesRow.timeframe,
            BarSeriesRow.side,
            VendorRow.name,
            VendorRow.synthetic,
            func.sum(per_batch.c.n),
            func.min(per_batch.c.first),
            func.max(per_batch.c.last),
        )
        .join(BarSeriesRow, BarSeriesRow.id == per_batch.c.series_id)
        .join(InstrumentRow, InstrumentRow.id == BarSeriesRow.instrument_id)
        .join(IngestBatchRow, IngestBatchRow.id == per_batch.c.batch_id)
        .join(VendorRow, VendorRow.id == IngestBatchRow.vendor_id)
        .group_by(
            InstrumentRow.symbol,
            BarSeriesRow.timeframe,
            BarSeriesRow.side,
            VendorRow.name,
            VendorRow.synthetic,
        )
        .order_by(InstrumentRow.symbol, BarSeriesRow.timeframe, BarSeriesRow.side, VendorRow.name)
    )
    return [
        SeriesSummary(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6], r[7])
        for r in conn.execute(q).all()
    ]
