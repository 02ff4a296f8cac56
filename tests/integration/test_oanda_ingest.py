"""OANDA candle ingestion with the real oandapyV20 client against the paper venue: an empty
security master fills (SQLite and Postgres), a second run inserts nothing, a later run
resumes after the last stored bar; paging by from + count is exercised with small pages."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from tradewind.broker.environments import register_environment
from tradewind.broker.oanda import OandaBroker
from tradewind.domain import PriceSide, Timeframe
from tradewind.pipelines.oanda_ingest import ingest_oanda
from tradewind.pipelines.setup import initialise
from tradewind.storage import catalog, integrity
from tradewind.storage.bars import BarKey, read_bars
from tradewind.storage.engine import make_engine
from tradewind.venue import service

TOKEN = "venue-token-" + uuid.uuid4().hex
ENV = "tw-venue-ingest"


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    venue = service.Venue.build(token=TOKEN, seed=7)
    with service.serve_in_thread(venue, trading=False) as base:
        register_environment(ENV, base)
        yield base


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    initialise(eng)
    yield eng
    eng.dispose()


def stored(engine: Engine, side: PriceSide, tf: Timeframe = Timeframe.M1):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        key = BarKey(catalog.instrument_id(conn, "EUR_USD"), tf, side)
        return read_bars(conn, key)


def test_fill_rerun_and_resume(engine: Engine, venue_url: str) -> None:
    start = datetime(2024, 1, 2, tzinfo=UTC)  # a Tuesday: the FX market is open
    end = start + timedelta(hours=30)
    with OandaBroker(ENV, token=TOKEN) as broker:
        first = ingest_oanda(
            engine,
            broker,
            "EUR_USD",
            Timeframe.M1,
            start,
            end - timedelta(hours=6),
            environment=ENV,
            page=700,
        )
        assert [r.side for r in first] == ["mid", "bid", "ask"]
        assert all(r.inserted > 700 for r in first)  # more than one page
        assert all(r.quarantined == 0 for r in first)
        mid, bid, ask = (stored(engine, s) for s in (PriceSide.MID, PriceSide.BID, PriceSide.ASK))
        assert len(mid) == len(bid) == len(ask) == first[0].inserted
        assert (bid.close <= ask.close).all()
        assert (mid.ts % 60_000_000 == 0).all()
        assert int(mid.ts[-1]) < int((end - timedelta(hours=6)).timestamp() * 1e6)

        again = ingest_oanda(
            engine,
            broker,
            "EUR_USD",
            Timeframe.M1,
            start,
            end - timedelta(hours=6),
            environment=ENV,
            page=700,
        )
        assert all(r.inserted == 0 and r.rows_read == 0 for r in again)

        later = ingest_oanda(
            engine, broker, "EUR_USD", Timeframe.M1, start, end, environment=ENV, page=5000
        )
        assert all(r.inserted > 0 for r in later)
        assert all(r.skipped_duplicates == 0 and r.conflicts == 0 for r in later)
        assert later[0].first_ts == first[0].last_ts + timedelta(minutes=1)
    assert len(stored(engine, PriceSide.MID)) == first[0].inserted + later[0].inserted
    with engine.connect() as conn:
        assert not any(integrity.orphan_bars(conn).values())


def test_daily_candles_land_on_the_utc_grid(engine: Engine, venue_url: str) -> None:
    end = datetime(2024, 2, 1, tzinfo=UTC)
    with OandaBroker(ENV, token=TOKEN) as broker:
        reports = ingest_oanda(
            engine, broker, "EUR_USD", Timeframe.D, end - timedelta(days=20), end, environment=ENV
        )
    assert all(r.quarantined == 0 and r.inserted > 0 for r in reports)
    assert (stored(engine, PriceSide.MID, Timeframe.D).ts % 86_400_000_000 == 0).all()


def test_cli_ingest(tmp_path: Path, venue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tradewind.cli.app import app

    monkeypatch.setenv("TRADEWIND_HOME", str(tmp_path))
    monkeypatch.setenv("OANDA_TOKEN", TOKEN)
    monkeypatch.setenv("OANDA_API_URL", venue_url)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    end = datetime(2024, 1, 2, 10, tzinfo=UTC)
    args = [
        "data",
        "ingest",
        "oanda",
        "--instrument",
        "EUR_USD",
        "--granularity",
        "M5",
        "--from",
        (end - timedelta(hours=10)).isoformat(),
        "--to",
        end.isoformat(),
        "--environment",
        "tw-cli-venue",
        "--json",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["vendor"] == "oanda-tw-cli-venue"  # not OANDA's prices: labelled by source
    assert all(b["inserted"] > 0 for b in out["batches"])
    res2 = runner.invoke(app, args)
    assert all(b["inserted"] == 0 for b in json.loads(res2.stdout)["batches"])
    bad = runner.invoke(app, [*args[:-3], "--environment", "live", "--json"])
    assert bad.exit_code == 1
    assert "allow" in bad.output
    assert TOKEN not in res.output + res2.output + bad.output
