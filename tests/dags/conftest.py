"""Fixtures of the DAG tests: one migrated Airflow home per test session (per xdist worker),
and the integration tests' helpers (venue, services) on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from airflow_support import AirflowHome, make_airflow_home


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    root = tmp_path_factory.mktemp("airflow")
    return make_airflow_home(root / "home", root / "tradewind")
