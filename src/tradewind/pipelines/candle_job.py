"""One scheduled candle job: an instrument and timeframe from its newest stored bar to a run's
end, as a JSON-able summary, with the quarantine ratio gate.

A series with no stored bar starts ``history_bars`` bars before the end. A series with bars
resumes one bar after the newest one before the end (of any side), so re-running the same
interval, or an older one, fetches only what is missing and inserts nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from tradewind.broker.ports import CandleSource
from tradewind.domain import PriceSide, Timeframe
from tradewind.pipelines.oanda_ingest import PAGE, ingest_oanda, vendor_for
from tradewind.pipelines.quarantine_gate import BatchQuarantine, check_ratio, reason_counts
from tradewind.storage import catalog
from tradewind.storage.bars import BarKey, last_bar_us
from tradewind.storage.types import datetime_to_us, us_to_datetime

SIDES = (PriceSide.MID, PriceSide.BID, PriceSide.ASK)


def resume_from(
    engine: Engine, instrument: str, timeframe: Timeframe, end: datetime, history_bars: int
) -> datetime:
    """Where the job starts: one bar after the oldest of the sides' newest bars before ``end``;
    ``history_bars`` bars before ``end`` when a side has none."""
    step = timeframe.seconds * 1_000_000
    end_us = datetime_to_us(end)
    with engine.connect() as conn:
        inst = catalog.instrument_id(conn, instrument)
        lasts = [last_bar_us(conn, BarKey(inst, timeframe, s), 0, end_us) for s in SIDES]
    if any(last is None for last in lasts):
        return us_to_datetime((end_us // step - history_bars) * step)
    return us_to_datetime(min(last for last in lasts if last is not None) + step)


def ingest_latest(
    engine: Engine,
    source: CandleSource,
    instrument: str,
    timeframe: Timeframe,
    end: datetime,
    *,
    environment: str,
    history_bars: int = 500,
    max_quarantine_ratio: float = 0.05,
    page: int = PAGE,
) -> dict[str, Any]:
    """Fetch and store the complete candles of ``instrument`` from its newest stored bar to
    ``end`` (clipped to now). Returns what it did (bars fetched and inserted, each batch with
    its quarantine counts by reason); raises ``QuarantineRatioExceeded`` after storing when a
    batch quarantined more than ``max_quarantine_ratio`` of its rows."""
    end = min(end.astimezone(UTC), datetime.now(UTC))
    start = resume_from(engine, instrument, timeframe, end, history_bars)
    reports = []
    if start < end:
        reports = ingest_oanda(
            engine,
            source,
            instrument,
            timeframe,
            start,
            end,
            environment=environment,
            page=page,
            skip_empty=True,
        )
    batches = [
        BatchQuarantine(
            batch_id=r.batch_id,
            what=f"{instrument} {timeframe.value} {r.side}",
            rows_read=r.rows_read,
            inserted=r.inserted,
            quarantined=r.quarantined,
            reasons=reason_counts(engine, r.batch_id) if r.quarantined else {},
        )
        for r in reports
    ]
    summary = {
        "instrument": instrument,
        "timeframe": timeframe.value,
        "vendor": vendor_for(environment),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "fetched": max((r.rows_read for r in reports), default=0),
        "inserted": sum(r.inserted for r in reports),
        "quarantined": sum(r.quarantined for r in reports),
        "batch_ids": [r.batch_id for r in reports],
        "batches": [
            {"side": r.side, **b.to_json(), "skipped_duplicates": r.skipped_duplicates}
            for r, b in zip(reports, batches, strict=True)
        ],
    }
    check_ratio(batches, max_quarantine_ratio)
    return summary
