"""``retrain_models`` under real Airflow (``airflow dags test``) against real services: the
Tradewind database on Postgres (synthetic EUR_USD H1 bars), ``mlflow server`` on Postgres with
its artifacts in an S3 server. Two small model configs are mapped; with no champion yet both
pass the gate's absolute checks and are promoted: the rows, the aliases, the tags and one
asset event per model must be there. A second run of the same logical date trains nothing,
stores nothing and announces nothing. (The pipeline tests cover SQLite as well, and the
rejection and refusal paths.)"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import service_support
import yaml
from airflow_support import AirflowHome, conn_env, db_connection
from retrain_support import seed, write_model_config
from service_support import s3_server
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tradewind.registry import Tracking
from tradewind.registry.versions import alias_version, version_tags
from tradewind.storage import migrate, promotions
from tradewind.storage.engine import make_engine
from tradewind.storage.schema_platform import ModelPromotionRow
from tradewind.testing.postgres import drop_database, fresh_database

LOGICAL_DATE = "2024-04-15T00:00:00+00:00"
MODELS = ("dag-logreg-a", "dag-logreg-b")
BUCKET = "tradewind-mlflow"


@pytest.fixture
def mlflow_url(pg_server_url: str, tmp_path: Path) -> Iterator[str]:
    backend = fresh_database(pg_server_url)
    psycopg = make_url(backend).set(drivername="postgresql+psycopg")
    try:
        with (
            s3_server(BUCKET) as s3,
            service_support.mlflow_server(
                psycopg.render_as_string(hide_password=False), s3, f"s3://{BUCKET}/art", tmp_path
            ) as url,
        ):
            yield url
    finally:
        drop_database(backend)


def asset_events(home: AirflowHome) -> list[tuple[str, str, dict, int]]:
    with sqlite3.connect(home.path / "airflow.db") as db:
        rows = db.execute(
            "SELECT a.name, a.uri, e.extra, e.source_map_index FROM asset_event e "
            "JOIN asset a ON a.id = e.asset_id WHERE e.source_dag_id = 'retrain_models' "
            "ORDER BY e.id"
        ).fetchall()
    return [(n, u, json.loads(x) if isinstance(x, str) else x, i) for n, u, x, i in rows]


def test_retrain_promotes_emits_the_champion_asset_and_reruns_change_nothing(
    airflow_home: AirflowHome, pg_url: str, mlflow_url: str, tmp_path: Path
) -> None:
    engine = make_engine(pg_url)
    migrate.upgrade(engine)
    seed(engine)
    configs = [str(write_model_config(tmp_path, name)) for name in MODELS]
    gate = tmp_path / "gate.yaml"
    gate.write_text(
        yaml.safe_dump(
            {
                "kind": "gate",
                "name": "dag-test",
                "metric": "sharpe",
                "min_margin": 0.0,
                "min_trades": 0,
                "max_drawdown": 1.0,
                "held_out": {"min_bars": 100, "warmup_bars": 300},
            }
        ),
        encoding="utf-8",
    )
    env = {
        **conn_env("tradewind_db", db_connection(pg_url)),
        **conn_env("mlflow", {"conn_type": "http", "host": mlflow_url}),
    }
    conf = {"models": configs, "gate": str(gate)}
    tracking = Tracking(mlflow_url, mlflow_url)

    run = airflow_home.dags_test("retrain_models", LOGICAL_DATE, conf=conf, env=env)
    assert run.state == "success", run.log_tail()
    assert run.failed() == []
    decided = run.mapped("judge_challenger")
    assert [(d["model_name"], d["decision"], d["fresh"]) for d in decided] == [
        (name, "promoted", True) for name in MODELS
    ]
    for name in MODELS:
        stored = promotions.get(engine, name, LOGICAL_DATE)
        assert stored is not None
        assert (stored.decision, stored.challenger_version, stored.champion_version) == (
            "promoted",
            "1",
            None,
        )
        assert stored.challenger_run_id
        assert alias_version(tracking, name, "champion") == "1"
        tags = version_tags(tracking, name, "1")
        assert tags["tradewind.promotion.decision"] == "promoted"
        assert tags["tradewind.promotion.reason"] == stored.reason
        assert tags["tradewind.promotion.run_key"] == LOGICAL_DATE
        assert tags["tradewind.retrain.run_key"] == LOGICAL_DATE
    events = asset_events(airflow_home)
    assert sorted((n, u, x["model"], x["version"]) for n, u, x, _ in events) == [
        (f"{name}@champion", f"model://{name}/champion", name, "1") for name in MODELS
    ]

    again = airflow_home.dags_test("retrain_models", LOGICAL_DATE, conf=conf, env=env)
    assert again.state == "success", again.log_tail()
    assert [d["fresh"] for d in again.mapped("judge_challenger")] == [False, False]
    assert [c["trained"] for c in again.mapped("train_challenger")] == [False, False]
    client = tracking.client()
    for name in MODELS:
        assert [str(v.version) for v in client.search_model_versions(f"name='{name}'")] == ["1"]
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(ModelPromotionRow)).scalar_one()
    assert count == len(MODELS)
    assert len(asset_events(airflow_home)) == len(MODELS)
    engine.dispose()
