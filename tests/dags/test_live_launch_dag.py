"""``live_launch`` under real Airflow (``airflow dags test``) against real services: Postgres,
the paper venue on a fast clock, a live trader running in this process on that venue and
that database, and an MLflow store both the trader and Airflow read (an embedded SQLite
store under tmp; Airflow reaches it through ``MLFLOW_TRACKING_URI``).

A launch sets the desired version, the trader swaps it in at its next bar and reports it, and
the sensor sees it; the same run again changes nothing; with the account halted, preflight
fails the run before anything is set. Postgres only: the pipeline tests
(tests/integration/test_launch_pipeline.py) cover both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_support import AirflowHome, conn_env, db_connection
from launch_support import DEPLOYMENT, MODEL, Registry, model_live_config, shared_registry
from live_support import Market, trader_in_thread
from sqlalchemy import Engine
from venue_support import ACCOUNT, TOKEN, make_broker, running_venue

from tradewind.pipelines.live import set_kill_switch
from tradewind.storage import migrate
from tradewind.storage.engine import make_engine
from tradewind.storage.live_models import SqlLiveModels

DATE = "2026-01-05T00:00:00+00:00"


@pytest.fixture
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MLFLOW_REGISTRY_URI", raising=False)
        yield shared_registry(tmp_path_factory.mktemp("launch-registry"))


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    eng = make_engine(pg_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def fast_market() -> Iterator[Market]:
    """The venue on a fast clock (an M1 bar a second): bars close while Airflow runs."""
    with running_venue(clock="fast", speed=60.0, seed=5) as v:
        broker = make_broker(v.base_url, name="tw-launch-dag")  # type: ignore[attr-defined]
        try:
            yield Market(v, broker)
        finally:
            broker.close()


def airflow_env(pg_url: str, venue_url: str, registry: Registry) -> dict[str, str]:
    oanda = {
        "conn_type": "http",
        "host": venue_url,
        "password": TOKEN,
        "extra": json.dumps({"environment": "venue", "account_id": ACCOUNT}),
    }
    return {
        **conn_env("tradewind_db", db_connection(pg_url)),
        **conn_env("oanda", oanda),
        "MLFLOW_TRACKING_URI": registry.tracking.tracking_uri,
        "TRADEWIND_LAUNCH_POKE_S": "1",
    }


def test_launch_goes_live_reruns_change_nothing_and_a_halted_account_sets_nothing(
    airflow_home: AirflowHome,
    tmp_path: Path,
    pg_url: str,
    engine: Engine,
    registry: Registry,
    fast_market: Market,
) -> None:
    r, m = registry, fast_market
    config = model_live_config(tmp_path)
    env = airflow_env(pg_url, m.url, r)
    conf = {"deployment": DEPLOYMENT, "model": f"{MODEL}/2", "config": str(config)}
    models = SqlLiveModels(engine)
    with trader_in_thread(engine, config, m, tracking=r.tracking) as t:
        assert t.desk.lanes[0].decision.model == r.v1  # the config's @champion

        run = airflow_home.dags_test("live_launch", DATE, conf=conf, env=env)
        assert run.state == "success", run.log_tail()
        assert run.tasks == {
            ("targets", -1): "success",
            ("preflight", 0): "success",
            ("set_desired", 0): "success",
            ("live", 0): "success",
        }
        plan = run.xcom("preflight", 0)
        assert (plan["model"], plan["requested"], plan["account_id"]) == (
            r.v2,
            f"{MODEL}/2",
            ACCOUNT,
        )
        assert run.xcom("set_desired", 0)["desired"]["changed"] is True
        assert run.xcom("live", 0)["live_model"] == r.v2
        state = models.get(DEPLOYMENT)
        assert state is not None
        assert (state.desired_model, state.live_model) == (r.v2, r.v2)
        assert state.desired_by == "airflow:live_launch"
        assert t.desk.lanes[0].decision.model == r.v2

        again = airflow_home.dags_test("live_launch", DATE, conf=conf, env=env)
        assert again.state == "success", again.log_tail()
        assert again.xcom("set_desired", 0)["desired"]["changed"] is False
        assert models.get(DEPLOYMENT) == state  # nothing written

        set_kill_switch(engine, ACCOUNT, "halted", "desk review", "ops")
        back = {**conf, "model": f"{MODEL}@champion"}
        refused = airflow_home.dags_test(
            "live_launch", "2026-01-06T00:00:00+00:00", conf=back, env=env
        )
        assert refused.state == "failed"
        assert refused.tasks[("preflight", 0)] == "failed"
        later = {k: v for k, v in refused.tasks.items() if k[0] in ("set_desired", "live")}
        assert later
        assert "success" not in later.values(), later
        assert "trading: halted (desk review, by ops" in refused.output
        assert models.get(DEPLOYMENT) == state
        assert t.desk.lanes[0].decision.model == r.v2
