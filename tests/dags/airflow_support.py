"""Real Airflow for the DAG tests: a throwaway ``AIRFLOW_HOME`` (SQLite metadata, the
project's ``dags/``), ``airflow dags test`` as a subprocess, and reads of what the run left in
Airflow's metadata database (its state, each task's state, XCom return values).

Airflow runs in a subprocess with an environment built here, so nothing of its configuration
leaks into the pytest process. Connections go in as ``AIRFLOW_CONN_*`` JSON variables (the
way a deployment passes secrets), never in a DAG file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
# What a test run must not inherit: another Airflow's config, Tradewind's or MLflow's.
_DROP = ("AIRFLOW_", "AIRFLOW__", "TRADEWIND_", "MLFLOW_", "OANDA_", "AWS_")


def db_connection(url: str) -> dict[str, Any]:
    """The ``tradewind_db`` Airflow connection for a SQLAlchemy URL."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return {"conn_type": "sqlite", "host": u.database}
    return {
        "conn_type": "postgres",
        "host": u.host,
        "port": u.port,
        "schema": u.database,
        "login": u.username,
        "password": u.password,
    }


def conn_env(conn_id: str, conn: dict[str, Any]) -> dict[str, str]:
    """An ``AIRFLOW_CONN_<ID>`` variable holding ``conn`` as JSON."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps({k: v for k, v in conn.items() if v})}


@dataclass
class DagRun:
    dag_id: str
    run_id: str
    state: str
    output: str
    tasks: dict[tuple[str, int], str] = field(default_factory=dict)  # (task, map index) -> state
    home: Path | None = None

    def xcom(self, task_id: str, map_index: int = -1) -> Any:
        """The return value of ``task_id`` (one mapped instance when ``map_index`` >= 0)."""
        assert self.home is not None
        with sqlite3.connect(self.home / "airflow.db") as db:
            row = db.execute(
                "SELECT value FROM xcom WHERE dag_id=? AND run_id=? AND task_id=? "
                "AND map_index=? AND key='return_value'",
                (self.dag_id, self.run_id, task_id, map_index),
            ).fetchone()
        if row is None:
            raise LookupError(f"no return value of {task_id}[{map_index}] in {self.run_id}")
        value = row[0]
        return json.loads(value) if isinstance(value, str | bytes) else value

    def mapped(self, task_id: str) -> list[Any]:
        """The return values of every mapped instance of ``task_id``, by map index."""
        indexes = sorted(i for (t, i) in self.tasks if t == task_id and i >= 0)
        return [self.xcom(task_id, i) for i in indexes]

    def failed(self) -> list[tuple[str, int]]:
        return [k for k, s in self.tasks.items() if s not in ("success", "skipped")]

    def log_tail(self, chars: int = 6000) -> str:
        return self.output[-chars:]


@dataclass
class AirflowHome:
    path: Path
    env: dict[str, str]

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AIRFLOW, *args],
            env={**self.env, **(env or {})},
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def dags_test(
        self,
        dag_id: str,
        logical_date: str,
        *,
        conf: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 900,
    ) -> DagRun:
        """``airflow dags test DAG DATE [-c CONF]``; the run it left in the metadata DB.
        Running it again for the same logical date replaces that run (Airflow clears it)."""
        args = ["dags", "test", dag_id, logical_date]
        if conf is not None:
            args += ["--conf", json.dumps(conf)]
        proc = self.run(*args, env=env, timeout=timeout)
        output = proc.stdout + proc.stderr
        with sqlite3.connect(self.path / "airflow.db") as db:
            row = db.execute(
                "SELECT run_id, state FROM dag_run WHERE dag_id=? ORDER BY id DESC LIMIT 1",
                (dag_id,),
            ).fetchone()
            if row is None:
                raise AssertionError(f"`airflow dags test {dag_id}` left no run:\n{output[-6000:]}")
            tasks = {
                (t, int(i)): str(s)
                for t, i, s in db.execute(
                    "SELECT task_id, map_index, state FROM task_instance "
                    "WHERE dag_id=? AND run_id=?",
                    (dag_id, row[0]),
                )
            }
        return DagRun(dag_id, row[0], str(row[1]), output, tasks, self.path)


def make_airflow_home(path: Path, tradewind_home: Path) -> AirflowHome:
    """A migrated Airflow home at ``path`` reading the project's ``dags/``."""
    path.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP)}
    env.update(
        {
            "AIRFLOW_HOME": str(path),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{path / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "TRADEWIND_HOME": str(tradewind_home),
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")])),
        }
    )
    home = AirflowHome(path, env)
    proc = home.run("db", "migrate", timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return home
