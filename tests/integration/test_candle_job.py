"""The scheduled candle job against the paper venue with the real oandapyV20 client (SQLite
and Postgres): a new series starts ``history_bars`` back, a re-run of the same interval
fetches and inserts nothing (and records no empty batch), a later run resumes after the last
stored bar, and a batch over the quarantine ratio fails with its reasons after storing its
good rows, so that the retry fills the rest and duplicates nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tradewind.broker.environments import register_environment
from tradewind.broker.oanda import OandaBroker
from tradewind.domain import Timeframe
from tradewind.pipelines.candle_job import ingest_latest
from tradewind.pipelines.oanda_ingest import candle_times_us
from tradewind.pipelines.quarantine_gate import QuarantineRatioExceeded
from tradewind.pipelines.setup import initialise
from tradewind.storage.engine import make_engine
from tradewind.storage.schema import BarRow, IngestBatchRow
from tradewind.storage.types import datetime_to_us
from tradewind.venue import service

TOKEN = "venue-token-" + uuid.uuid4().hex
ENV = "tw-venue-candle-job"
END = datetime(2024, 1, 2, 12, tzinfo=UTC)  # a Tuesday: the FX market is open


@pytest.fixture(scope="module")
def broker() -> Iterator[OandaBroker]:
    venue = service.Venue.build(token=TOKEN, seed=5)
    with service.serve_in_thread(venue, trading=False) as base:
        register_environment(ENV, base)
        with OandaBroker(ENV, token=TOKEN) as b:
            yield b


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    initialise(eng)
    yield eng
    eng.dispose()


def count(engine: Engine, model: type = BarRow) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


class BlankMidCloses:
    """The real broker's candles with the mid close of every candle from ``since`` blanked
    (a feed sending bad prices; the venue itself only serves good candles)."""

    def __init__(self, inner: OandaBroker, since: datetime) -> None:
        self.inner, self.since_us = inner, datetime_to_us(since)

    def candles(self, *args: Any, **kw: Any) -> list[dict[str, Any]]:
        out = self.inner.candles(*args, **kw)
        ts = candle_times_us(out)
        return [
            {**c, "mid": {**c["mid"], "c": "NaN"}} if t >= self.since_us else c
            for c, t in zip(out, ts.tolist(), strict=True)
        ]


def test_from_the_last_stored_bar_to_the_end(engine: Engine, broker: OandaBroker) -> None:
    def job(end: datetime) -> dict[str, Any]:
        return ingest_latest(
            engine, broker, "EUR_USD", Timeframe.M5, end, environment=ENV, history_bars=100
        )

    first = job(END)
    assert first["start"] == (END - timedelta(minutes=500)).isoformat()
    assert first["fetched"] == 100
    assert first["inserted"] == 300  # mid, bid and ask
    assert first["quarantined"] == 0
    assert [b["side"] for b in first["batches"]] == ["mid", "bid", "ask"]
    assert len(first["batch_ids"]) == 3
    assert all(b["reasons"] == {} and b["ratio"] == 0 for b in first["batches"])
    batches = count(engine, IngestBatchRow)

    again = job(END)
    assert again["start"] == END.isoformat()  # one bar after the last stored one
    assert (again["fetched"], again["inserted"], again["batch_ids"]) == (0, 0, [])
    assert count(engine) == 300
    assert count(engine, IngestBatchRow) == batches

    later = job(END + timedelta(hours=1))
    assert later["start"] == END.isoformat()
    assert later["inserted"] == 36
    assert all(b["skipped_duplicates"] == 0 for b in later["batches"])
    assert count(engine) == 336


def test_over_the_quarantine_ratio_fails_and_the_retry_duplicates_nothing(
    engine: Engine, broker: OandaBroker
) -> None:
    noisy = BlankMidCloses(broker, END - timedelta(minutes=50))  # the last 10 of 100 bars
    with pytest.raises(QuarantineRatioExceeded) as err:
        ingest_latest(
            engine, noisy, "EUR_USD", Timeframe.M5, END, environment=ENV, history_bars=100
        )
    [over] = err.value.batches
    assert over.what == "EUR_USD M5 mid"
    assert (over.rows_read, over.quarantined, over.inserted) == (100, 10, 90)
    assert over.reasons == {"close is not finite": 10}
    assert "10 of 100 rows quarantined (10.0%) - close is not finite: 10" in str(err.value)
    assert count(engine) == 90 + 100 + 100  # the good rows are stored

    retry = ingest_latest(
        engine, broker, "EUR_USD", Timeframe.M5, END, environment=ENV, history_bars=100
    )
    assert [(b["side"], b["inserted"]) for b in retry["batches"]] == [("mid", 10)]
    assert count(engine) == 300
