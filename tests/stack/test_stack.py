"""The whole platform, started for real by `make stack-test`, checked as an operator would.

Every long-running service healthy and every one-shot done; Airflow lists every DAG with no
import error and a triggered ``market_data_ingest`` run fetches candles from the venue service
and stores bars; MLflow refuses an anonymous request and answers the admin; the venue answers
the real oandapyV20 client; the live trader's health endpoint answers; Superset is healthy and
serves the four dashboards and their data as the read-only reporting role; a placeholder
secret stops a container before it starts.
"""

from __future__ import annotations

import subprocess
import time

import oandapyV20
import oandapyV20.endpoints.accounts as accounts
import oandapyV20.endpoints.pricing as pricing
import pytest
import requests

from conftest import Stack
from tradewind.broker.environments import register_environment
from tradewind.storage.migrate import head_revision

DAGS = {
    "backtest_sweep",
    "backtest_walkforward",
    "live_launch",
    "market_data_ingest",
    "pnl_reconciliation",
    "retrain_models",
}
ONE_SHOTS = {"minio-init", "tradewind-init", "airflow-init", "superset-init"}
LONG_RUNNING = {
    "postgres",
    "minio",
    "redis",
    "mlflow",
    "venue",
    "live-trader",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "superset",
}


def test_every_service_healthy_and_every_one_shot_done(stack: Stack) -> None:
    rows = {row["Service"]: row for row in stack.services()}
    assert set(rows) == LONG_RUNNING | ONE_SHOTS
    for name in LONG_RUNNING:
        assert rows[name]["State"] == "running", (name, rows[name]["Status"])
        assert rows[name]["Health"] == "healthy", (name, rows[name]["Status"])
    for name in ONE_SHOTS:
        assert rows[name]["State"] == "exited", (name, rows[name]["Status"])
        assert rows[name]["ExitCode"] == 0, (name, rows[name]["Status"])


def test_tradewind_init_migrated_and_made_the_reporting_role(stack: Stack) -> None:
    logs = stack.compose("logs", "--no-color", "tradewind-init").stdout
    assert "tradewind-init: done" in logs
    assert "role tradewind_reporting" in logs
    head = stack.psql("tradewind", "SELECT version_num FROM alembic_version")
    assert head == head_revision()  # the newest migration of this checkout
    assert int(stack.psql("tradewind", "SELECT count(*) FROM instruments")) > 0
    # the reporting role reads the views and nothing else
    assert (
        stack.psql(
            "tradewind",
            "SELECT has_table_privilege('tradewind_reporting', 'reporting.fills', 'SELECT'), "
            "has_table_privilege('tradewind_reporting', 'public.oms_orders', 'SELECT')",
        )
        == "t|f"
    )


# --- Airflow ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def airflow(stack: Stack) -> requests.Session:
    base = stack.url("AIRFLOW_PORT", 8080)
    got = requests.post(
        f"{base}/auth/token",
        json={"username": "admin", "password": stack.env["AIRFLOW_ADMIN_PASSWORD"]},
        timeout=30,
    )
    assert got.status_code in (200, 201), got.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {got.json()['access_token']}"
    session.base_url = base  # type: ignore[attr-defined]
    return session


def test_airflow_refuses_a_wrong_password(stack: Stack) -> None:
    got = requests.post(
        f"{stack.url('AIRFLOW_PORT', 8080)}/auth/token",
        json={"username": "admin", "password": "not-the-password"},
        timeout=30,
    )
    assert got.status_code in (401, 403)


def test_airflow_lists_every_dag_without_import_errors(airflow: requests.Session) -> None:
    base = airflow.base_url  # type: ignore[attr-defined]
    deadline = time.monotonic() + 300  # the dag-processor parses the folder after it starts
    while True:
        dags = airflow.get(f"{base}/api/v2/dags", params={"limit": 100}, timeout=30).json()
        found = {d["dag_id"] for d in dags["dags"]}
        if found >= DAGS or time.monotonic() > deadline:
            break
        time.sleep(5)
    assert found >= DAGS, f"missing: {sorted(DAGS - found)}"
    errors = airflow.get(f"{base}/api/v2/importErrors", timeout=30).json()
    assert errors["total_entries"] == 0, errors


def test_market_data_ingest_runs_against_the_venue_and_stores_bars(
    stack: Stack, airflow: requests.Session
) -> None:
    base = airflow.base_url  # type: ignore[attr-defined]
    dag = f"{base}/api/v2/dags/market_data_ingest"
    assert airflow.patch(dag, json={"is_paused": False}, timeout=30).status_code == 200
    got = airflow.post(
        f"{dag}/dagRuns",
        json={"logical_date": None, "conf": {"instruments": ["EUR_USD"], "timeframes": ["H1"]}},
        timeout=30,
    )
    assert got.status_code == 200, got.text
    run_id = got.json()["dag_run_id"]
    deadline = time.monotonic() + 600
    state = "queued"
    while time.monotonic() < deadline:
        state = airflow.get(f"{dag}/dagRuns/{run_id}", timeout=30).json()["state"]
        if state in ("success", "failed"):
            break
        time.sleep(5)
    tasks = airflow.get(f"{dag}/dagRuns/{run_id}/taskInstances", timeout=30).json()
    summary = {(t["task_id"], t.get("map_index")): t["state"] for t in tasks["task_instances"]}
    assert state == "success", summary
    bars = stack.psql(
        "tradewind",
        "SELECT count(*) FROM bars b JOIN bar_series s ON s.id = b.series_id "
        "JOIN instruments i ON i.id = s.instrument_id "
        "WHERE i.symbol = 'EUR_USD' AND s.timeframe = 'H1'",
    )
    assert int(bars) >= 400  # history_bars 500 back, less the weekend hours


# --- MLflow -------------------------------------------------------------------------------------
def test_mlflow_refuses_anonymous_and_answers_the_admin(stack: Stack) -> None:
    url = f"{stack.url('MLFLOW_PORT', 5000)}/api/2.0/mlflow/experiments/search"
    anonymous = requests.get(url, params={"max_results": 5}, timeout=30)
    assert anonymous.status_code == 401
    wrong = requests.get(url, params={"max_results": 5}, auth=("admin", "nope"), timeout=30)
    assert wrong.status_code == 401
    admin = requests.get(
        url,
        params={"max_results": 5},
        auth=("admin", stack.env["MLFLOW_ADMIN_PASSWORD"]),
        timeout=30,
    )
    assert admin.status_code == 200, admin.text
    assert "experiments" in admin.json()


# --- the venue and the live trader --------------------------------------------------------------
def test_the_venue_answers_the_real_oanda_client(stack: Stack) -> None:
    register_environment("tradewind-stack-test", stack.url("VENUE_PORT", 8081))
    api = oandapyV20.API(
        access_token=stack.env["TRADEWIND_VENUE_TOKEN"], environment="tradewind-stack-test"
    )
    listed = api.request(accounts.AccountList())
    account = listed["accounts"][0]["id"]
    prices = api.request(pricing.PricingInfo(account, params={"instruments": "EUR_USD"}))
    price = prices["prices"][0]
    assert float(price["bids"][0]["price"]) < float(price["asks"][0]["price"])
    bad = oandapyV20.API(access_token="0" * 64, environment="tradewind-stack-test")
    with pytest.raises(oandapyV20.exceptions.V20Error) as refused:
        bad.request(accounts.AccountList())
    assert refused.value.code == 401


def test_the_live_trader_reports_its_health(stack: Stack) -> None:
    got = requests.get(f"{stack.url('LIVE_HEALTH_PORT', 8788)}/health", timeout=30)
    assert got.status_code == 200, got.text
    health = got.json()
    assert health["status"] == "ok"
    assert health["deployments"] == ["sma-trend-eurusd-m5"]
    assert health["reconcile"].startswith("clean")


# --- Superset -----------------------------------------------------------------------------------
def test_superset_serves_the_dashboards(stack: Stack) -> None:
    base = stack.url("SUPERSET_PORT", 8088)
    assert requests.get(f"{base}/health", timeout=30).text.strip() == "OK"
    login = requests.post(
        f"{base}/api/v1/security/login",
        json={
            "username": "admin",
            "password": stack.env["SUPERSET_ADMIN_PASSWORD"],
            "provider": "db",
            "refresh": False,
        },
        timeout=60,
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    dashboards = requests.get(f"{base}/api/v1/dashboard/", headers=headers, timeout=60).json()
    titles = {d["dashboard_title"] for d in dashboards["result"]}
    assert len(titles) == 4, titles
    # one chart's data, queried through the bundle's database: the read-only reporting role
    charts = requests.get(
        f"{base}/api/v1/chart/", headers=headers, params={"q": "(page_size:100)"}, timeout=60
    ).json()["result"]
    assert len(charts) >= 30
    data = requests.get(
        f"{base}/api/v1/chart/{charts[0]['id']}/data/", headers=headers, timeout=120
    )
    assert data.status_code == 200, data.text[:500]


# --- secrets ------------------------------------------------------------------------------------
def test_a_placeholder_secret_stops_the_container(stack: Stack) -> None:
    image = stack.env.get("TRADEWIND_IMAGE", "localhost/tradewind:0.1.0")
    got = subprocess.run(
        [
            stack.engine,
            "run",
            "--rm",
            "-e",
            "TRADEWIND_REQUIRES=TRADEWIND_VENUE_TOKEN",
            "-e",
            "TRADEWIND_VENUE_TOKEN=changeme",
            image,
            "tradewind",
            "--help",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert got.returncode != 0
    assert "TRADEWIND_VENUE_TOKEN" in got.stderr + got.stdout
    assert "changeme" not in got.stderr + got.stdout
