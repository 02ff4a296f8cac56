"""Market data in: read -> validate -> quarantine -> idempotent upsert, one transaction a batch."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from tradewind.config import FrozenModel, ImportSpec
from tradewind.config.imports import ConflictPolicy
from tradewind.domain import BarSeries, PriceSide, Timeframe
from tradewind.domain.progress import Progress
from tradewind.marketdata.interval import check_interval
from tradewind.marketdata.issues import RowIssues
from tradewind.marketdata.readers import read_bar_file
from tradewind.marketdata.validation import validate_bars
from tradewind.storage import batches, catalog
from tradewind.storage.bars import BarKey, merge_bars
from tradewind.storage.batches import QuarantineItem
from tradewind.storage.types import us_to_datetime


@dataclass(frozen=True)
class ImportReport:
    """What one import did. Every row read is inserted, a duplicate, a conflict or quarantined."""

    batch_id: int
    source: str
    instrument: str
    timeframe: str
    side: str
    rows_read: int
    inserted: int
    skipped_duplicates: int
    conflicts: int
    overwritten: int
    quarantined: int
    first_ts: datetime | None
    last_ts: datetime | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("first_ts", "last_ts"):
            d[k] = d[k].isoformat() if d[k] else None
        d["seconds"] = round(self.seconds, 3)
        return d


@dataclass(frozen=True)
class Source:
    """Where a batch came from, for the ingest_batches row."""

    name: str
    kind: str  # csv | parquet | synthetic | oanda
    checksum: str
    vendor: str
    synthetic: bool = False


def check_instrument(engine: Engine, symbol: str) -> None:
    """Fail fast, before reading anything, when the instrument is not in the security master."""
    with engine.connect() as conn:
        catalog.instrument_id(conn, symbol)


def store_series(
    engine: Engine,
    source: Source,
    config: FrozenModel,
    instrument: str,
    timeframe: Timeframe,
    side: PriceSide,
    bars: BarSeries,
    issues: RowIssues,
    raw_rows: Any,
    extra: list[QuarantineItem] | None = None,
    policy: ConflictPolicy = ConflictPolicy.KEEP,
    started: float | None = None,
) -> ImportReport:
    """Quarantine the rows with issues, upsert the rest; all in one transaction."""
    started = time.perf_counter() if started is None else started
    reasons = issues.reasons()
    bad_idx = np.fromiter(reasons.keys(), dtype=np.int64, count=len(reasons))
    items = [
        QuarantineItem(line=int(bars.lines[i]), reason=reasons[i], raw=raw)
        for i, raw in zip(bad_idx.tolist(), raw_rows(bad_idx) if len(bad_idx) else [], strict=True)
    ]
    items += extra or []
    good = bars.take(~issues.bad)
    with engine.begin() as conn:
        key = BarKey(catalog.instrument_id(conn, instrument), timeframe, side)
        vendor_id = catalog.vendor_id(conn, source.vendor, synthetic=source.synthetic)
        fp = catalog.store_config(conn, config)
        batch_id = batches.open_batch(
            conn,
            source=source.name,
            source_kind=source.kind,
            checksum=source.checksum,
            instrument_id=key.instrument_id,
            timeframe=timeframe.value,
            side=side.value,
            vendor_id=vendor_id,
            config_fingerprint=fp,
        )
        merged = merge_bars(conn, key, good, batch_id, policy)
        items += [
            QuarantineItem(
                c.line, c.reason(), {"incoming": c.incoming, "stored": c.stored}, "conflict"
            )
            for c in merged.conflicts
        ]
        batches.add_quarantine(conn, batch_id, items)
        first = us_to_datetime(int(good.ts[0])) if len(good) else None
        last = us_to_datetime(int(good.ts[-1])) if len(good) else None
        report = ImportReport(
            batch_id=batch_id,
            source=source.name,
            instrument=instrument,
            timeframe=timeframe.value,
            side=side.value,
            rows_read=len(bars) + len(extra or []),
            inserted=merged.inserted,
            skipped_duplicates=merged.duplicates,
            conflicts=len(merged.conflicts),
            overwritten=merged.overwritten,
            quarantined=len(items) - len(merged.conflicts),
            first_ts=first,
            last_ts=last,
            seconds=time.perf_counter() - started,
        )
        batches.close_batch(
            conn,
            batch_id,
            rows_read=report.rows_read,
            inserted=report.inserted,
            skipped_duplicates=report.skipped_duplicates,
            conflicts=report.conflicts,
            overwritten=report.overwritten,
            quarantined=report.quarantined,
            first_ts=first,
            last_ts=last,
        )
    return report


IMPORT_PHASES = ("read", "interval check", "validation", "storing")
"""What :func:`import_file` reports as done/total: one unit per phase a file goes through."""


def import_file(
    engine: Engine,
    path: str | Path,
    spec: ImportSpec,
    source_name: str | None = None,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one CSV or Parquet file of bars. Atomic: a failure leaves nothing behind.
    ``source_name`` is what the batch records as its source (default: the file's path);
    ``progress`` hears ``(done, 4)`` as each of :data:`IMPORT_PHASES` ends."""
    started = time.perf_counter()
    total = len(IMPORT_PHASES)
    report_phase = progress or (lambda done, total: None)
    report_phase(0, total)
    check_instrument(engine, spec.instrument)
    parsed = read_bar_file(path, spec)
    report_phase(1, total)
    check_interval(parsed.bars.ts, ~parsed.unparsed["ts"], spec.timeframe, parsed.source)
    report_phase(2, total)
    validate_bars(parsed.bars, spec.timeframe, parsed.issues, parsed.unparsed)
    report_phase(3, total)
    extra = [QuarantineItem(line, reason, raw) for line, reason, raw in parsed.malformed]
    name = source_name or str(Path(path).resolve())
    source = Source(name, parsed.source_kind, parsed.checksum, spec.vendor)
    report = store_series(
        engine,
        source,
        spec,
        spec.instrument,
        spec.timeframe,
        spec.side,
        parsed.bars,
        parsed.issues,
        parsed.raw_rows,
        extra,
        spec.on_conflict,
        started,
    )
    report_phase(total, total)
    return report
