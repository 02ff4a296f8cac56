"""Every DAG in ``dags/`` parses with real Airflow, follows the house rules, and parses fast.

Airflow's own DagBag parses the folder in a subprocess (with the throwaway Airflow home, so no
configuration leaks into pytest). The rules: no import errors; every DAG has an owner, tags,
retries by default, a doc an operator reads in the UI, and ``catchup=False`` (none of ours
backfills); parsing imports none of the heavy libraries (tasks import Tradewind when they
run), and each file parses in well under a second.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from airflow_support import DAGS, AirflowHome

PROBE = Path(__file__).with_name("dagbag_probe.py")
EXPECTED = {
    "market_data_ingest",
    "retrain_models",
    "live_launch",
    "pnl_reconciliation",
    "backtest_sweep",
}


@pytest.fixture(scope="module")
def parsed(airflow_home: AirflowHome) -> dict:
    import subprocess

    proc = subprocess.run(
        [sys.executable, str(PROBE), str(DAGS)],
        env=airflow_home.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_no_import_errors_and_every_dag_is_there(parsed: dict) -> None:
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) >= EXPECTED


def test_every_dag_has_an_owner_tags_retries_a_doc_and_no_catchup(parsed: dict) -> None:
    for dag_id, dag in parsed["dags"].items():
        assert dag["owners"] == ["tradewind"], dag_id
        assert dag["tags"], dag_id
        # a task may opt out (a preflight that failed will fail again), the DAG may not
        assert dag["retries"] >= 1, (dag_id, dag["retries"])
        assert len(dag["doc"]) > 200, f"{dag_id}: the UI shows too little of what it does"
        assert dag["catchup"] is False, dag_id


def test_parsing_imports_no_heavy_library_and_takes_well_under_a_second(parsed: dict) -> None:
    assert parsed["heavy_imports"] == []
    times = {Path(f).name: round(s, 3) for f, s in parsed["parse_s"].items()}
    print("parse time per file (s):", times)
    # A loose bound on a shared machine (the probe imports airflow.sdk before it times, so
    # no file pays for Airflow itself): the import check above is what keeps files light.
    assert max(times.values()) < 1.0, f"a DAG file took a second or more to parse: {times}"


def test_sweep_chunks_run_on_the_backtest_queue(parsed: dict) -> None:
    queues = parsed["dags"]["backtest_sweep"]["queues"]
    assert "backtest" in queues.values(), queues
