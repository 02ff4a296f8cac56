"""One real Superset per test session (per xdist worker) with the dashboards bundle imported
twice, over a Tradewind database filled by `tradewind demo` (a backtest, trained and promoted
models, a paper-trading session) on the test Postgres, plus what the demo leaves out
(``fill_extras.py``: quarantined rows, risk events, a gate decision)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from superset_support import (
    REPO,
    Api,
    Running,
    Superset,
    bundle_objects,
    conninfo,
    create_reporting_role,
    drop_role,
)

from tradewind.testing.postgres import drop_database, fresh_database

TRADEWIND = Path(sys.executable).parent / "tradewind"


def spawn(home: Path, tw_url: str, *argv: str) -> subprocess.Popen[str]:
    """``argv`` with Tradewind's home and database (nothing else of ours inherited)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADEWIND_", "MLFLOW_"))}
    env.update(TRADEWIND_HOME=str(home), TRADEWIND_DATABASE_URL=tw_url, COLUMNS="200")
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        argv,
        env=env,
        cwd=REPO,  # the demo reads configs/ from the repository
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tradewind(home: Path, tw_url: str, *args: str) -> subprocess.Popen[str]:
    return spawn(home, tw_url, str(TRADEWIND), *args)


def extras(home: Path, tw_url: str) -> subprocess.Popen[str]:
    """``fill_extras.py``: quarantined rows, risk events and a gate decision."""
    return spawn(home, tw_url, sys.executable, str(Path(__file__).parent / "fill_extras.py"))


def finished(proc: subprocess.Popen[str], what: str, timeout: float) -> str:
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"{what} failed ({proc.returncode}): {err[-4000:]}")
    return out


def provisioned(superset: Superset, outputs: list[str]) -> None:
    done = superset.provision()
    outputs.append(done.stdout + done.stderr)
    if done.returncode != 0:
        pytest.fail(f"provision failed ({done.returncode}): {(done.stdout + done.stderr)[-4000:]}")


def edit_by_hand(metadata_url: str) -> None:
    """Someone edited the bundle's objects in the UI: the next provisioning puts them back."""
    with psycopg.connect(**conninfo(metadata_url), autocommit=True) as conn:
        conn.execute("UPDATE dashboards SET dashboard_title = 'edited ' || id")
        conn.execute("UPDATE slices SET slice_name = 'edited ' || id")
        conn.execute("UPDATE tables SET description = 'edited', sql = NULL")
        conn.execute("UPDATE dbs SET database_name = 'edited ' || id")


@pytest.fixture(scope="session")
def superset(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = tmp_path_factory.mktemp("superset")
    tw_url = fresh_database(pg_server_url)
    metadata_url = fresh_database(pg_server_url)
    role = f"tw_reporting_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12) + "@/:%"  # characters a URI would have to quote
    try:
        finished(tradewind(root / "tradewind", tw_url, "init"), "tradewind init", 300)
        create_reporting_role(tw_url, role, password)
        demo = tradewind(root / "tradewind", tw_url, "demo", "--timesteps", "2048")
        try:
            instance = Superset.make(root / "home", metadata_url, tw_url, role, password)
            outputs: list[str] = []
            provisioned(instance, outputs)
            edit_by_hand(metadata_url)
            provisioned(instance, outputs)
            finished(demo, "tradewind demo", 900)
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.communicate()
        finished(extras(root / "tradewind", tw_url), "filling what the demo leaves out", 600)
        with instance.serving() as base:
            admin_password = instance.admin_password_file.read_text().strip()
            api = Api(base, "admin", admin_password)
            yield Running(instance, base, api, bundle_objects(instance.bundle), outputs)
    finally:
        drop_database(metadata_url)
        drop_database(tw_url)
        drop_role(pg_server_url, role)
