"""``pnl_reconciliation`` under real Airflow (``airflow dags test``) against the paper venue
and Postgres: the day's rows equal the hand computation, and a second run of the same logical
date leaves the same rows, none duplicated. (The pipeline's own tests cover SQLite too.)"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from airflow_support import conn_env, db_connection
from pnl_support import DAY, VENUE, assert_rows, expected_rows, oms_for, trade_day
from venue_support import ACCOUNT, TOKEN, make_broker, running_venue

from tradewind.storage import migrate
from tradewind.storage import pnl as store
from tradewind.storage.engine import make_engine
from tradewind.storage.schema_platform import PnlDailyRow

LOGICAL_DATE = "2024-01-03T22:00:00+00:00"  # 17:00 New York: the end of FX day 2024-01-03


@pytest.fixture
def engine(pg_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(pg_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


def test_the_dag_stores_the_day_and_a_rerun_replaces_it(airflow_home, engine, pg_url) -> None:
    with running_venue(**VENUE) as venue:
        base = venue.base_url  # type: ignore[attr-defined]
        broker = make_broker(base)
        day = trade_day(base, oms_for(broker, engine))
        want = expected_rows(day, broker)
        env = {
            **conn_env("tradewind_db", db_connection(pg_url)),
            **conn_env(
                "oanda",
                {
                    "conn_type": "http",
                    "host": base,
                    "password": TOKEN,
                    "extra": json.dumps({"environment": "venue", "account_id": ACCOUNT}),
                },
            ),
        }
        for _ in range(2):
            run = airflow_home.dags_test("pnl_reconciliation", LOGICAL_DATE, env=env)
            assert run.state == "success", run.log_tail()
            assert run.tasks == {("accounts", -1): "success", ("reconcile", 0): "success"}
            summary = run.xcom("reconcile", 0)
            assert summary["day"] == DAY.label == "2024-01-03"
            assert (summary["account_id"], summary["status"]) == (ACCOUNT, "clean")
            assert summary["rows"] == 4
            assert summary["marks"]["source"] == "broker"
            assert_rows(store.day_rows(engine, DAY.label, ACCOUNT), want)
            with engine.connect() as conn:
                count = conn.execute(sa.select(sa.func.count()).select_from(PnlDailyRow))
                assert count.scalar() == 4
        check = store.day_check(engine, DAY.label, ACCOUNT)
        assert check is not None
        assert check["status"] == "clean"
