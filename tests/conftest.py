"""Shared fixtures: a real Postgres (see tradewind.testing.postgres) and a SQLite file.

``db_url`` runs a test once per backend. Postgres comes from $TRADEWIND_TEST_DATABASE_URL if
set, else from a throwaway server this process starts on first use and stops at exit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tradewind.testing.postgres import drop_database, fresh_database, postgres_server_url

INTEGRATION_DIRS = tuple(
    Path(__file__).parent / d for d in ("integration", "dags", "superset", "stack")
)
# tests/stack checks a running compose stack: `make stack-test` starts one and sets this
collect_ignore = [] if os.environ.get("TRADEWIND_STACK_ENV_FILE") else ["stack"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(d in item.path.parents for d in INTEGRATION_DIRS):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the Postgres server for this test session (the ``postgres`` database)."""
    return postgres_server_url()


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """URL of an empty Postgres database of its own, dropped after the test."""
    url = fresh_database(pg_server_url)
    yield url
    drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite database file under the test's tmp_path (not created yet)."""
    return f"sqlite:///{tmp_path}/tw.db"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend in turn; Postgres is only started if needed."""
    fixture = {"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param]
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def new_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes more empty databases of the test's backend (an indirect param, sqlite or
    postgres, or the backend of the test's ``db_url``): ``new_db_url(name)`` -> URL; Postgres
    ones are dropped after the test."""
    if hasattr(request, "param"):
        backend = request.param
    else:  # the backend of the test's ``db_url``/``db_engine``, else SQLite
        callspec = getattr(request.node, "callspec", None)
        backend = callspec.params.get("db_url", "sqlite") if callspec else "sqlite"
    made: list[str] = []

    def make(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path}/{name}.db"
        url = fresh_database(request.getfixturevalue("pg_server_url"))
        made.append(url)
        return url

    yield make
    for url in made:
        drop_database(url)


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """A migrated database on each backend in turn (SQLite file, then Postgres)."""
    from tradewind.storage import migrate
    from tradewind.storage.engine import make_engine

    engine = make_engine(db_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
