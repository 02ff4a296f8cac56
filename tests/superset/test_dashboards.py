"""The dashboards bundle on a real Superset: provisioned twice (nothing duplicated, hand edits
put back), every dashboard present, every chart's saved query answered by Superset over the
reporting role, the UI on loopback only, the admin password only in its mode-600 file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from superset_support import Running, conninfo, listening_addresses

LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1


@pytest.mark.parametrize(
    ("resource", "section", "name"),
    [
        ("database", "databases", "database_name"),
        ("dataset", "datasets", "table_name"),
        ("chart", "charts", "slice_name"),
        ("dashboard", "dashboards", "dashboard_title"),
    ],
)
def test_two_imports_leave_exactly_the_bundle(
    superset: Running, resource: str, section: str, name: str
) -> None:
    """Provisioned twice, with edits by hand in between: one object per bundle object, each
    as the bundle says."""
    listed = {str(o["uuid"]): o for o in superset.api.listing(resource)}
    assert sorted(listed) == sorted(superset.bundle[section])
    for uuid, spec in superset.bundle[section].items():
        assert listed[uuid][name] == spec[name]


def test_datasets_are_as_the_bundle_says(superset: Running) -> None:
    """The hand edits of the datasets' SQL and description were undone (where the bundle
    sets them: the import leaves a field the bundle omits as it is)."""
    ids = {str(o["uuid"]): o["id"] for o in superset.api.listing("dataset")}
    for uuid, spec in superset.bundle["datasets"].items():
        got = superset.api.get(f"/api/v1/dataset/{ids[uuid]}").json()["result"]
        for key in ("sql", "description"):
            if key in spec:
                assert got[key] == spec[key], (spec["table_name"], key)


def test_every_dashboard_is_there_as_the_bundle_says(superset: Running) -> None:
    for uuid, spec in superset.bundle["dashboards"].items():
        done = superset.api.get(f"/api/v1/dashboard/{uuid}")
        assert done.status_code == 200, (spec["dashboard_title"], done.text[:500])
        got = done.json()["result"]
        assert got["dashboard_title"] == spec["dashboard_title"]  # the hand edit was undone
        charts = superset.api.get(f"/api/v1/dashboard/{uuid}/charts")
        assert charts.status_code == 200, charts.text[:500]
        wanted = {
            c["meta"]["uuid"]
            for c in (spec.get("position") or {}).values()
            if isinstance(c, dict) and c.get("type") == "CHART"
        }
        assert len(charts.json()["result"]) == len(wanted), spec["dashboard_title"]


def rows_of(superset: Running, query: str) -> int:
    """How many rows ``query`` gives on the Tradewind database, run there directly (as the
    server's superuser, not as the reporting role)."""
    with psycopg.connect(**conninfo(superset.superset.tw_url)) as conn:
        return len(conn.execute(query.encode()).fetchall())


def chart_ids(superset: Running) -> dict[str, int]:
    return {str(c["uuid"]): int(c["id"]) for c in superset.api.listing("chart")}


def chart_failures(superset: Running, chart_id: int) -> tuple[list[str], int]:
    """What is wrong with one chart's saved query run by Superset, and its rows: each query
    must answer without error, and with rows whenever its SQL, run directly, gives rows."""
    done = superset.api.get(f"/api/v1/chart/{chart_id}/data/", force="true")
    if done.status_code != 200:
        return [f"HTTP {done.status_code}: {done.text[:300]}"], 0
    results = done.json()["result"]
    errors = [str(r["error"]) for r in results if r.get("error")]
    if errors:
        return errors, 0
    sql_done = superset.api.get(f"/api/v1/chart/{chart_id}/data/", type="query")
    assert sql_done.status_code == 200, sql_done.text[:300]
    queries = [r["query"] for r in sql_done.json()["result"]]
    got = [int(r.get("rowcount") or 0) for r in results]
    want = [rows_of(superset, q) for q in queries]
    # the counts differ where post-processing pivots or bins the rows; emptiness may not
    if [n > 0 for n in got] != [n > 0 for n in want]:
        return [f"rows {got}, while its SQL gives {want} run directly"], sum(got)
    return [], sum(got)


# Charts the test data leaves empty on purpose, and why.
EMPTY = {"Open orders": "the demo's paper session ends with every order filled or cancelled"}


def test_every_chart_answers_its_saved_query_with_rows(superset: Running) -> None:
    ids = chart_ids(superset)
    names = {c["slice_name"] for c in superset.bundle["charts"].values()}
    assert set(EMPTY) <= names, set(EMPTY) - names
    failures = []
    for uuid, chart in superset.bundle["charts"].items():
        name = chart["slice_name"]
        if not chart.get("query_context"):
            failures.append(f"{name}: no saved query_context in the bundle")
            continue
        problems, rows = chart_failures(superset, ids[uuid])
        failures += [f"{name}: {p}" for p in problems]
        if rows == 0 and name not in EMPTY:
            failures.append(f"{name}: no rows")
    assert not failures, "\n".join(failures)


def test_charts_query_as_the_read_only_role(superset: Running) -> None:
    for database in superset.api.listing("database"):
        done = superset.api.get(f"/api/v1/database/{database['id']}/connection")
        assert done.status_code == 200, done.text[:300]
        uri = done.json()["result"]["sqlalchemy_uri"]
        assert f"{superset.superset.env['TRADEWIND_REPORTING_USER']}:XXXXXXXXXX@" in uri


def test_ui_serves_on_loopback_only(superset: Running) -> None:
    listening = listening_addresses(superset.superset.port)
    assert listening, "gunicorn's socket not found in /proc/net/tcp"
    assert listening <= LOOPBACK, listening
    login = requests.get(f"{superset.base}/login/", timeout=30)
    assert login.status_code == 200
    assert "Content-Security-Policy" in login.headers  # Talisman is on
    anonymous = requests.get(f"{superset.base}/api/v1/dashboard/", timeout=30)
    assert anonymous.status_code == 401


def test_the_admin_password_stays_in_its_file(superset: Running) -> None:
    path = superset.superset.admin_password_file
    assert path.stat().st_mode & 0o777 == 0o600
    password = path.read_text().strip()
    assert len(password) >= 16
    for output in superset.provision_output:
        assert password not in output
        assert str(path) in output or "exists" in output
    reporting = Path(superset.superset.env["TRADEWIND_REPORTING_PASSWORD_FILE"]).read_text()
    assert all(reporting not in o for o in superset.provision_output)
    assert reporting not in superset.superset.log_tail(10**7)


def chart_rows(superset: Running, name: str) -> list[dict[str, Any]]:
    """The rows Superset answers for the bundle's chart called ``name``."""
    uuid = next(u for u, c in superset.bundle["charts"].items() if c["slice_name"] == name)
    done = superset.api.get(f"/api/v1/chart/{chart_ids(superset)[uuid]}/data/", force="true")
    assert done.status_code == 200, done.text[:300]
    return list(done.json()["result"][0]["data"])


def test_daily_pnl_per_account_adds_up_to_the_accounts_pnl(superset: Running) -> None:
    """The bars of a day are the account's NAV change that FX day (its '*' rows), so over the
    session they add up to the account's P&L; summing its deployments' rows in too would
    count each day twice."""
    bars = chart_rows(superset, "Daily P&L per account")
    per_account: dict[str, float] = {}
    for row in bars:
        for column, value in row.items():
            if column != "day" and value is not None:
                per_account[column] = per_account.get(column, 0.0) + float(value)
    with psycopg.connect(**conninfo(superset.superset.tw_url)) as conn:
        pnl = dict(
            conn.execute(
                "SELECT DISTINCT ON (account_id) account_id, pnl FROM reporting.live_nav "
                "ORDER BY account_id, at DESC"
            ).fetchall()
        )
    assert pnl, "the demo's paper session left no NAV snapshots"
    assert per_account.keys() == pnl.keys()
    for account, total in per_account.items():
        assert total == pytest.approx(pnl[account], abs=0.005), account


def sql_lab(superset: Running, sql: str) -> requests.Response:
    """``sql`` run in SQL Lab on the bundle's database (the read-only reporting role)."""
    (database,) = superset.api.listing("database")
    return superset.api.post(
        "/api/v1/sqllab/execute/",
        {"database_id": database["id"], "sql": sql, "runAsync": False, "schema": "reporting"},
    )


def test_sql_lab_reads_the_views_and_nothing_else(superset: Running) -> None:
    """What the dashboards' role may do, asked through Superset: read the reporting views;
    the security master's own tables answer "permission denied" from Postgres itself, and a
    write is refused (by Superset here; tests/integration/test_reporting_role.py shows the
    role cannot write even where Superset would let it try)."""
    done = sql_lab(superset, "SELECT count(*) AS n FROM reporting.fills")
    assert done.status_code == 200, done.text[:500]
    assert done.json()["data"][0]["n"] > 0
    for table in ("oms_orders", "runs", "venue_transactions", "alembic_version"):
        done = sql_lab(superset, f"SELECT * FROM public.{table} LIMIT 1")
        assert done.status_code >= 400
        assert f"permission denied for table {table}" in done.text, done.text[:500]
    for write in ("DELETE FROM reporting.fills", "CREATE TABLE reporting.x (a int)"):
        done = sql_lab(superset, write)
        assert done.status_code >= 400
        assert "DML_NOT_ALLOWED_ERROR" in done.text, done.text[:500]
