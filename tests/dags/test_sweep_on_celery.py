"""``backtest_sweep`` on a real CeleryExecutor: a throwaway Redis broker, Postgres for Airflow's
metadata and Celery's results, the api-server (the tasks' execution API), scheduler,
dag-processor, a worker on the ``default`` queue and one on ``backtest``. The mapped
``score_chunk`` tasks run on the ``backtest`` worker (Airflow's records and the worker's own
log say so) and the sweep's best point equals the in-process sweep's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_support import AIRFLOW, conn_env, db_connection
from celery_support import (
    CeleryStack,
    check_celery,
    free_port,
    http_ok,
    query,
    redis_server,
    stack_env,
    wait_until,
)

from tradewind.config import SyntheticConfig, load_config
from tradewind.config.backtest import BacktestConfig
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.sweep import sweep
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.storage.engine import make_engine
from tradewind.testing.postgres import drop_database, fresh_database

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "backtests" / "demo.yaml"
GRID = "fast=5:20:5,slow=30:60:10"
CHUNKS = 3


@pytest.fixture
def databases(pg_server_url: str) -> Iterator[tuple[str, str]]:
    """(Airflow's metadata database, the Tradewind security master with EUR_USD H1 bars)."""
    metadata, security_master = fresh_database(pg_server_url), fresh_database(pg_server_url)
    engine = make_engine(security_master)
    initialise(engine)
    synthesize_to_db(engine, SyntheticConfig(instrument="EUR_USD", bars=2000, seed=4))
    engine.dispose()
    yield metadata, security_master
    drop_database(metadata)
    drop_database(security_master)


@pytest.fixture
def stack(tmp_path: Path, databases: tuple[str, str]) -> Iterator[CeleryStack]:
    check_celery()
    metadata, security_master = databases
    redis_port, api_port = free_port(), free_port()
    home = tmp_path / "airflow"
    home.mkdir()
    env = stack_env(home, metadata, redis_port, api_port)
    env.update(conn_env("tradewind_db", db_connection(security_master)))
    env["TRADEWIND_HOME"] = str(tmp_path / "tradewind")
    s = CeleryStack(home, env)
    try:
        s.start(
            "redis", redis_server(), "--port", str(redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no",
        )  # fmt: skip
        migrated = s.airflow("db", "migrate")
        assert migrated.returncode == 0, (migrated.stdout + migrated.stderr)[-4000:]
        s.start("api-server", AIRFLOW, "api-server", "--port", str(api_port), "-w", "1")
        s.start("scheduler", AIRFLOW, "scheduler", "--skip-serve-logs")
        s.start("dag-processor", AIRFLOW, "dag-processor")
        worker = (AIRFLOW, "celery", "worker", "--skip-serve-logs", "--without-gossip")
        s.start("worker-default", *worker, "-q", "default", "-c", "1", "-H", "default@tradewind")
        s.start("worker-backtest", *worker, "-q", "backtest", "-c", "2", "-H", "backtest@tradewind")
        yield s
    finally:
        s.close()


def test_mapped_chunks_run_on_the_backtest_worker(
    stack: CeleryStack, databases: tuple[str, str]
) -> None:
    metadata, security_master = databases
    api = stack.env["AIRFLOW__API__BASE_URL"]
    wait_until("the api-server", lambda: http_ok(f"{api}/api/v2/monitor/health"), stack, 120)
    wait_until(
        "backtest_sweep to be parsed",
        lambda: query(metadata, "SELECT 1 FROM dag WHERE dag_id = 'backtest_sweep'"),
        stack,
        120,
    )
    wait_until(
        "both workers to be ready",
        lambda: all("ready" in p.tail(20000) for p in stack.procs if p.name.startswith("worker")),
        stack,
        120,
    )
    conf = {"grid": GRID, "target": "sharpe", "chunks": CHUNKS, "top": 1}
    trig = stack.airflow("dags", "trigger", "backtest_sweep", "--conf", json.dumps(conf))
    assert trig.returncode == 0, trig.stdout + trig.stderr
    run_id, state = wait_until(
        "the sweep run to finish",
        lambda: query(
            metadata,
            "SELECT run_id, state FROM dag_run WHERE dag_id = 'backtest_sweep' "
            "AND state IN ('success', 'failed')",
        ),
        stack,
        240,
    )[0]
    tis = query(
        metadata,
        "SELECT task_id, map_index, state, queue, hostname, executor FROM task_instance "
        "WHERE dag_id = 'backtest_sweep' AND run_id = :run ORDER BY task_id, map_index",
        run=run_id,
    )
    shown = "\n".join(map(str, tis))
    assert state == "success", f"{shown}\n{stack.tail()}"
    by_task = {(t.task_id, t.map_index): t for t in tis}
    chunks = [by_task[("score_chunk", i)] for i in range(CHUNKS)]
    assert all(t.state == "success" and t.queue == "backtest" for t in chunks), shown
    assert all(t.hostname for t in chunks), shown  # a worker claimed each one
    assert by_task[("prepare", -1)].queue == "default"
    assert by_task[("rerun_best", -1)].queue == "backtest"

    # the worker's own log: every mapped chunk went to the backtest worker, none elsewhere
    def ran(worker: str) -> set[tuple[str, int]]:
        log = next(p for p in stack.procs if p.name == worker).tail(10**7)
        found = re.findall(r"task_id='(\w+)'.*?map_index=(-?\d+)", log)
        return {(t, int(i)) for t, i in found}

    on_backtest, on_default = ran("worker-backtest"), ran("worker-default")
    assert {("score_chunk", i) for i in range(CHUNKS)} <= on_backtest, stack.tail()
    assert ("rerun_best", -1) in on_backtest
    assert not any(t in ("score_chunk", "rerun_best") for t, _ in on_default)
    assert {("prepare", -1), ("plan", -1), ("reduce", -1)} <= on_default

    (value,) = query(
        metadata,
        "SELECT value FROM xcom WHERE dag_id = 'backtest_sweep' AND run_id = :run "
        "AND task_id = 'reduce' AND key = 'return_value'",
        run=run_id,
    )[0]
    reduced = value if isinstance(value, dict) else json.loads(value)
    engine = make_engine(security_master)
    try:
        local = sweep(engine, load_config(DEMO, BacktestConfig), GRID, None, "sharpe", top=0)
    finally:
        engine.dispose()
    assert reduced["best"] == [local.points[0].params]
    assert reduced["points"] == local.to_json()["points"]
