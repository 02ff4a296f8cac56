"""``market_data_ingest`` under ``airflow dags test`` against real services: Postgres (the
security master), the paper venue with the real oandapyV20 client (real clock: it serves
candles of its random walk up to now), and moto's S3 server as the landing bucket.

Run 1 fills two instruments x two timeframes from nothing and imports a CSV and a Parquet
object (moved to processed/); run 2 for the same logical date inserts and moves nothing;
run 3, with a file over the quarantine ratio dropped, fails only the landing task (no retry)
with the reasons, after storing the file's good rows and moving it to rejected/<batch>/.
Without a ``minio`` connection the landing task is skipped with a log line saying why.
Postgres only: the pipeline tests cover SQLite and Postgres."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from airflow_support import AirflowHome, conn_env, db_connection
from landing_support import csv_bytes, frame, landing, parquet_bytes, put
from service_support import S3, s3_server
from sqlalchemy import Engine, func, select
from venue_support import TOKEN

from tradewind.pipelines.setup import initialise
from tradewind.storage.engine import make_engine
from tradewind.storage.schema import BarRow, IngestBatchRow
from tradewind.testing.postgres import drop_database, fresh_database
from tradewind.venue import service

DAG = "market_data_ingest"
LOGICAL = "2026-01-06T12:00:00+00:00"  # a Tuesday noon: the FX market is open
BUCKET = "tw-landing-dag"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(pg_server_url: str) -> Iterator[tuple[str, Engine]]:
    url = fresh_database(pg_server_url)
    engine = make_engine(url)
    initialise(engine)
    yield url, engine
    engine.dispose()
    drop_database(url)


@pytest.fixture
def venue_url() -> Iterator[str]:
    venue = service.Venue.build(token=TOKEN, seed=3)
    with service.serve_in_thread(venue, trading=False) as base:
        yield base


def bar_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(BarRow)) or 0)


def env_for(url: str, venue: str, s3: S3) -> dict[str, str]:
    lb = landing(s3, BUCKET)
    minio = {
        "conn_type": "aws",
        "host": lb.endpoint,
        "login": lb.access_key,
        "password": lb.secret_key,
        "extra": json.dumps({"bucket": BUCKET, "region": lb.region}),
    }
    oanda = {
        "conn_type": "http",
        "host": venue,
        "password": TOKEN,
        "extra": json.dumps({"environment": "venue"}),
    }
    return {
        **conn_env("tradewind_db", db_connection(url)),
        **conn_env("oanda", oanda),
        **conn_env("minio", minio),
    }


def test_hourly_ingest_rerun_quarantine_failure_and_no_landing_bucket(
    airflow_home: AirflowHome, database: tuple[str, Engine], venue_url: str, tmp_path: Path
) -> None:
    url, engine = database
    config = tmp_path / "ingest.yaml"
    config.write_text(
        f"kind: market_ingest\nuniverse: {REPO / 'configs/universe/fx_majors.yaml'}\n"
        "instruments: [EUR_USD, USD_JPY]\ntimeframes: [M15, H1]\nhistory_bars: 24\n"
        "max_quarantine_ratio: 0.05\n"
    )
    conf: dict[str, Any] = {"config": str(config)}
    with s3_server(BUCKET) as s3:
        env = env_for(url, venue_url, s3)
        put(s3, "incoming/GBP_USD/M5/gbp.csv", csv_bytes(frame(100, bad=2)), BUCKET)
        put(s3, "incoming/AUD_USD/H1/aud.parquet", parquet_bytes(frame(24, minutes=60)), BUCKET)

        first = airflow_home.dags_test(DAG, LOGICAL, conf=conf, env=env)
        assert first.state == "success", first.log_tail()
        assert not first.failed()
        items = first.xcom("plan")
        assert [(i["instrument"], i["timeframe"]) for i in items] == [
            ("EUR_USD", "M15"),
            ("EUR_USD", "H1"),
            ("USD_JPY", "M15"),
            ("USD_JPY", "H1"),
        ]
        candles = first.mapped("candles")
        assert len(candles) == 4
        end = datetime.fromisoformat(LOGICAL)
        for c in candles:
            assert datetime.fromisoformat(c["end"]) == end
            assert c["vendor"] == "oanda-tradewind-venue"
            assert c["fetched"] == 24  # history_bars of a market open all along
            assert c["inserted"] == 72  # mid, bid, ask
            assert [b["side"] for b in c["batches"]] == ["mid", "bid", "ask"]
            assert all(b["quarantined"] == 0 and b["reasons"] == {} for b in c["batches"])
        lands = first.xcom("landing_bucket")
        assert (lands["objects"], lands["imported"], lands["rejected"]) == (2, 2, 0)
        assert lands["inserted"] == 98 + 24
        assert lands["quarantined"] == 2
        gbp = next(d for d in lands["details"] if d["key"].endswith("gbp.csv"))
        assert gbp["batch"]["reasons"] == {"high below max(open, close)": 2}
        stored = bar_count(engine)
        assert stored == 4 * 72 + 98 + 24
        keys = set(s3.keys(BUCKET))
        assert {d["moved_to"] for d in lands["details"]} <= keys
        assert not [k for k in keys if k.startswith("incoming/")]
        with engine.connect() as conn:
            batches = int(conn.scalar(select(func.count()).select_from(IngestBatchRow)) or 0)

        again = airflow_home.dags_test(DAG, LOGICAL, conf=conf, env=env)
        assert again.state == "success", again.log_tail()
        assert all(c["inserted"] == 0 and c["batch_ids"] == [] for c in again.mapped("candles"))
        assert again.xcom("landing_bucket")["objects"] == 0
        assert bar_count(engine) == stored
        assert set(s3.keys(BUCKET)) == keys
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(IngestBatchRow)) == batches

        put(s3, "incoming/NZD_USD/M5/noisy.csv", csv_bytes(frame(40, bad=8)), BUCKET)
        third = airflow_home.dags_test(DAG, LOGICAL, conf=conf, env=env)
        assert third.state == "failed"
        assert third.tasks[("landing_bucket", -1)] == "failed"
        assert all(s == "success" for (t, _), s in third.tasks.items() if t != "landing_bucket")
        assert "8 of 40 rows quarantined (20.0%) - high below max(open, close): 8" in third.output
        assert bar_count(engine) == stored + 32  # the good rows are kept
        rejected = [k for k in s3.keys(BUCKET) if k.startswith("rejected/")]
        assert any(k.endswith("/noisy.csv") for k in rejected)
        assert any(k.endswith("/noisy.csv.reason.txt") for k in rejected)

    # the mapped tasks are labelled in the UI by instrument and timeframe
    with sqlite3.connect(airflow_home.path / "airflow.db") as db:
        labels = db.execute(
            "SELECT rendered_map_index FROM task_instance WHERE dag_id=? AND run_id=? "
            "AND task_id='candles' ORDER BY map_index",
            (DAG, third.run_id),
        ).fetchall()
    assert [r[0] for r in labels] == ["EUR_USD M15", "EUR_USD H1", "USD_JPY M15", "USD_JPY H1"]

    # without a minio connection the landing task is skipped, saying why
    no_minio = {k: v for k, v in env.items() if k != "AIRFLOW_CONN_MINIO"}
    proc = airflow_home.run("tasks", "test", DAG, "landing_bucket", LOGICAL, env=no_minio)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "no Airflow connection 'minio'" in proc.stdout + proc.stderr
    assert "new_state=skipped" in proc.stdout + proc.stderr
