"""Fresh, migrated databases for each measured import, on SQLite and on Postgres."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from tradewind.pipelines.setup import initialise
from tradewind.storage.engine import make_engine
from tradewind.testing.postgres import ThrowawayPostgres, drop_database, fresh_database

ROOT = Path(__file__).resolve().parent.parent
UNIVERSE = ROOT / "configs" / "universe" / "fx_majors.yaml"
ENV_URL = "TRADEWIND_BENCH_DATABASE_URL"
PG_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "wal_level")


def prepare(engine: Engine) -> None:
    """Migrate to head and load the fx_majors universe into the security master."""
    initialise(engine)


class SqliteBackend:
    name = "sqlite"

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._root = root

    def describe(self) -> dict[str, str]:
        where = self._root
        with contextlib.suppress(ValueError):
            where = where.relative_to(ROOT)
        return {"SQLite": f"{sqlite3.sqlite_version}, database files under {where}"}

    @contextmanager
    def database(self, migrated: bool = True) -> Iterator[Engine]:
        """A new database file in a directory of its own, removed afterwards."""
        d = Path(tempfile.mkdtemp(prefix="db-", dir=self._root))
        engine = make_engine(f"sqlite:///{d}/tw.db")
        try:
            if migrated:
                prepare(engine)
            yield engine
        finally:
            engine.dispose()
            shutil.rmtree(d, ignore_errors=True)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._root.rmdir()


class PostgresBackend:
    """Postgres: ``$TRADEWIND_BENCH_DATABASE_URL`` or a throwaway server with durability off
    (``fsync``, ``synchronous_commit``, ``full_page_writes``); ``durable=True``: always a
    throwaway server with Postgres' crash-safe defaults on, what users run (``postgres-fsync``).
    """

    def __init__(self, *, durable: bool = False) -> None:
        self.name = "postgres-fsync" if durable else "postgres"
        self._server: ThrowawayPostgres | None = None
        env = os.environ.get(ENV_URL, "").strip()
        if env and not durable:
            self.server_url = env
            self.origin = f"${ENV_URL}"
        else:
            self._server = ThrowawayPostgres(durable=durable).start()
            self.server_url = self._server.url
            took = self._server.startup_seconds or 0.0
            self.origin = (
                "throwaway server started by the benchmark "
                f"(tradewind.testing.postgres.ThrowawayPostgres, up in {took:.1f} s)"
            )

    def describe(self) -> dict[str, str]:
        engine = make_engine(self.server_url)
        try:
            with engine.connect() as conn:
                out = {"Postgres": str(conn.exec_driver_sql("SHOW server_version").scalar())}
                settings = ", ".join(
                    f"{s}={conn.exec_driver_sql(f'SHOW {s}').scalar()}" for s in PG_SETTINGS
                )
        finally:
            engine.dispose()
        label = "Postgres (fsync on)" if self.name == "postgres-fsync" else "Postgres"
        out[f"{label} server"] = self.origin
        out[f"{label} settings"] = settings
        return out

    @contextmanager
    def database(self, migrated: bool = True) -> Iterator[Engine]:
        """A new database on the server, dropped afterwards."""
        url = fresh_database(self.server_url)
        engine = make_engine(url)
        try:
            if migrated:
                prepare(engine)
            yield engine
        finally:
            engine.dispose()
            drop_database(url)

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
