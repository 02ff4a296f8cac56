"""A file of another bar interval than declared is refused before anything is stored, and
day-first / exchange-local daily files import as they should; on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from tradewind.config import ImportSpec
from tradewind.domain import PriceSide, Timeframe
from tradewind.marketdata.columns import ImportFileError
from tradewind.pipelines.ingest import import_file
from tradewind.pipelines.setup import initialise
from tradewind.storage import catalog
from tradewind.storage.bars import BarKey, read_bars
from tradewind.storage.engine import make_engine
from tradewind.storage.schema import IngestBatchRow, QuarantineRow

T0 = datetime(2024, 1, 2, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    initialise(eng)
    yield eng
    eng.dispose()


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            int(conn.scalar(select(func.count()).select_from(IngestBatchRow)) or 0),
            int(conn.scalar(select(func.count()).select_from(QuarantineRow)) or 0),
        )


def minute_file(tmp_path: Path, n: int) -> Path:
    lines = ["time,open,high,low,close,volume"]
    for i in range(n):
        ts = T0 + timedelta(minutes=i)
        lines.append(f"{ts:%Y-%m-%d %H:%M:%S},1.1,1.2,1.0,1.15,{i}")
    p = tmp_path / "m1.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def stored(engine: Engine, timeframe: Timeframe) -> int:
    with engine.connect() as conn:
        key = BarKey(catalog.instrument_id(conn, "EUR_USD"), timeframe, PriceSide.MID)
        return len(read_bars(conn, key))


def test_m1_file_imported_as_h1_is_refused_and_stores_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    p = minute_file(tmp_path, 6_000)
    spec = ImportSpec(instrument="EUR_USD", timeframe=Timeframe.H1)
    with pytest.raises(ImportFileError, match=r"M1 apart .*not H1: import it with --timeframe M1"):
        import_file(engine, p, spec)
    assert counts(engine) == (0, 0)
    assert stored(engine, Timeframe.H1) == 0
    report = import_file(engine, p, spec.model_copy(update={"timeframe": Timeframe.M1}))
    assert (report.inserted, report.quarantined) == (6_000, 0)


def test_daily_exchange_dates_and_day_first_import_whole(engine: Engine, tmp_path: Path) -> None:
    p = tmp_path / "spy.csv"
    days = [T0 + timedelta(days=d) for d in range(14) if (T0 + timedelta(days=d)).weekday() < 5]
    p.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        + "".join(f"{d:%d/%m/%Y},470,472,468,471,1000\n" for d in days)
    )
    spec = ImportSpec(
        instrument="EUR_USD",
        timeframe=Timeframe.D,
        timezone="America/New_York",
        time_format="%d/%m/%Y",
    )
    report = import_file(engine, p, spec)
    assert (report.inserted, report.quarantined) == (len(days), 0)
    assert report.first_ts == T0
    assert report.last_ts == days[-1]
