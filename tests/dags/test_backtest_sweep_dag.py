"""``backtest_sweep`` and ``backtest_walkforward`` under ``airflow dags test`` on a Postgres
security master (the pipeline tests of the same steps run on SQLite and Postgres): the mapped
chunks' ranking and best points equal the in-process sweep's, the stored runs equal the
in-process re-runs, and a second run for the same logical date stores nothing new."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_support import AirflowHome, conn_env, db_connection
from sqlalchemy import Engine, func, select

from tradewind.config import SyntheticConfig, load_config
from tradewind.config.backtest import BacktestConfig
from tradewind.config.errors import ConfigError
from tradewind.orchestration.sweep import prepare_sweep, prepare_walkforward
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.sweep import SweepError, sweep, walkforward
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.storage.engine import make_engine
from tradewind.storage.schema import RunRow
from tradewind.testing.postgres import drop_database, fresh_database

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "backtests" / "demo.yaml"
DATE = "2026-01-05T00:00:00+00:00"
GRID = "fast=5:20:5,slow=30:60:10"  # 16 points, none skipped


@pytest.fixture
def seeded_pg(pg_server_url: str) -> Iterator[tuple[str, Engine]]:
    url = fresh_database(pg_server_url)
    engine = make_engine(url)
    initialise(engine)
    synthesize_to_db(engine, SyntheticConfig(instrument="EUR_USD", bars=2000, seed=4))
    yield url, engine
    engine.dispose()
    drop_database(url)


def _runs(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(RunRow.id, RunRow.config_fingerprint).where(RunRow.kind == "backtest")
        ).all()
    return {r.id: r.config_fingerprint for r in rows}


def test_sweep_dag_equals_the_in_process_sweep_and_reruns_store_nothing_twice(
    airflow_home: AirflowHome, seeded_pg: tuple[str, Engine]
) -> None:
    url, engine = seeded_pg
    env = conn_env("tradewind_db", db_connection(url))
    conf = {"grid": GRID, "target": "sharpe", "chunks": 3, "top": 2}  # default config: demo

    first = airflow_home.dags_test("backtest_sweep", DATE, conf=conf, env=env)
    assert first.state == "success", first.log_tail()
    assert not first.failed(), first.log_tail()
    assert sorted(i for t, i in first.tasks if t == "score_chunk") == [0, 1, 2]
    chunks = first.xcom("plan")
    assert [len(c) for c in chunks] == [6, 5, 5]
    reduced = first.xcom("reduce")
    reran = first.xcom("rerun_best")
    assert [r["reused"] for r in reran] == [False, False]
    stored = _runs(engine)
    assert set(stored) == {r["run_id"] for r in reran}

    again = airflow_home.dags_test("backtest_sweep", DATE, conf=conf, env=env)
    assert again.state == "success", again.log_tail()
    reused = again.xcom("rerun_best")
    assert [r["run_id"] for r in reused] == [r["run_id"] for r in reran]
    assert all(r["reused"] for r in reused)
    assert _runs(engine) == stored  # nothing duplicated
    assert again.xcom("reduce") == reduced

    local = sweep(engine, load_config(DEMO, BacktestConfig), GRID, None, "sharpe", top=2)
    mine = local.to_json()
    assert reduced["points"] == mine["points"]
    assert reduced["best"] == [p["params"] for p in mine["points"][:2]]
    after = _runs(engine)
    for dag_run, in_process in zip(reran, mine["rerun"], strict=True):
        assert dag_run["params"] == in_process["params"]
        assert dag_run["metrics"] == in_process["metrics"]
        assert after[dag_run["run_id"]] == after[in_process["run_id"]]  # same stored config
    with engine.connect() as conn:
        count = select(func.count()).select_from(RunRow).where(RunRow.kind == "backtest")
        assert conn.execute(count).scalar_one() == 4  # the DAG's 2 and the in-process 2


def test_walkforward_dag_equals_the_in_process_walkforward(
    airflow_home: AirflowHome, seeded_pg: tuple[str, Engine]
) -> None:
    url, engine = seeded_pg
    env = conn_env("tradewind_db", db_connection(url))
    conf = {"grid": {"fast": [5, 15], "slow": [30, 50]}, "train_bars": 800, "test_bars": 600}
    run = airflow_home.dags_test("backtest_walkforward", DATE, conf=conf, env=env)
    assert run.state == "success", run.log_tail()
    assert sorted(i for t, i in run.tasks if t == "score_fold") == [0, 1]
    report = run.xcom("stitch")
    local = walkforward(
        engine, load_config(DEMO, BacktestConfig), "fast=5:15:10,slow=30:50:20", "sharpe", 800, 600
    )
    assert report == local.to_json()


def test_params_are_validated_with_one_line_errors() -> None:
    with pytest.raises(ConfigError, match=r"backtest_sweep params: chunks: .*greater than or"):
        prepare_sweep({"chunks": 0}, REPO)
    with pytest.raises(ConfigError, match="backtest_sweep params: colour: Extra inputs"):
        prepare_sweep({"colour": "red"}, REPO)
    with pytest.raises(ConfigError, match=r"config nope\.yaml: no such file"):
        prepare_sweep({"config": "nope.yaml"}, REPO)
    with pytest.raises(SweepError, match="unknown target 'sortino_plus'"):
        prepare_sweep({"target": "sortino_plus"}, REPO)
    with pytest.raises(SweepError, match="grid part slow"):
        prepare_sweep({"grid": {"fast": [5], "slow": ["x"]}}, REPO)
    with pytest.raises(ConfigError, match="mode"):
        prepare_walkforward({"mode": "sideways"}, REPO)
    setup = prepare_sweep({"grid": {"slow": [30, 40], "fast": 5}}, REPO)
    assert setup["grid"] == [["slow", [30, 40]], ["fast", 5]]
    assert setup["keys"] == ["slow", "fast"]
    assert setup["config"]["name"] == "demo-sma-rsi"
