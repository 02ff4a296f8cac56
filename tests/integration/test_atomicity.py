"""An import is atomic: a killed process, a dropped connection or a failure mid-write leaves
no batch, no bars and no quarantine behind, and the same import then succeeds in full.

The killed-process tests run the import in a child interpreter on a large synthetic M1 file
and SIGKILL it once the write has demonstrably begun: the child announces entering
``merge_bars`` (inside the batch transaction), and the parent then waits for outside evidence
of rows being written (the SQLite ``-wal`` file growing, or the Postgres backend running its
``COPY bars``) before killing.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy.exc
import sqlalchemy.pool
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from tradewind.config import ImportSpec, SyntheticConfig
from tradewind.domain import Timeframe
from tradewind.pipelines import ingest
from tradewind.pipelines.ingest import import_file
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.synthetic import synthesize_to_file
from tradewind.storage import batches
from tradewind.storage.engine import make_engine

REPO = Path(__file__).resolve().parents[2]
UNIVERSE = REPO / "configs" / "universe" / "fx_majors.yaml"
BIG = 300_000  # M1 bars in the big file: seconds of writing on either backend
SMALLER = 100_000  # for the in-process dropped-connection case
TABLES = ("ingest_batches", "bars", "quarantine")
SPEC = ImportSpec(instrument="EUR_USD", timeframe=Timeframe.M1)

CHILD = """
import sys
from tradewind.config import ImportSpec
from tradewind.pipelines import ingest
from tradewind.storage.engine import make_engine

url, path = sys.argv[1], sys.argv[2]
merge = ingest.merge_bars

def announced(*args, **kwargs):
    print("WRITING", flush=True)  # the batch transaction is open: the batch row is in
    return merge(*args, **kwargs)

ingest.merge_bars = announced
report = ingest.import_file(
    make_engine(url), path, ImportSpec(instrument="EUR_USD", timeframe="M1")
)
print("DONE", report.inserted, flush=True)
"""


# --------------------------------------------------------------------------- helpers


def ready_engine(url: str) -> Engine:
    eng = make_engine(url)
    initialise(eng)
    return eng


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.scalar(text(f"SELECT count(*) FROM {t}"))) for t in TABLES}


NOTHING = dict.fromkeys(TABLES, 0)


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("atomicity") / "EUR_USD_M1.csv"
    n = synthesize_to_file(SyntheticConfig(timeframe=Timeframe.M1, bars=BIG, seed=5), path)
    assert n == BIG
    return path


@pytest.fixture(scope="module")
def smaller_csv(big_csv: Path) -> Path:
    path = big_csv.with_name("EUR_USD_M1_head.csv")
    with big_csv.open() as src, path.open("w") as dst:
        for _ in range(SMALLER + 1):  # header + rows
            dst.write(src.readline())
    return path


def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    """The child's next stdout line, or '' if it exits or the deadline passes first."""
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.05)
        if ready:
            return proc.stdout.readline().strip()
        if proc.poll() is not None:
            return ""
    return ""


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            pytest.fail(
                f"the import finished before {what}: nothing to interrupt (exit {proc.returncode})"
            )
        time.sleep(0.01)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}")


def kill_mid_write(url: str, path: Path, writing: Callable[[], bool]) -> None:
    """Run the import in a child, SIGKILL it once ``writing()`` is true, and reap it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        marker = _read_line(proc, time.monotonic() + 120)
        if marker != "WRITING":
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"child never reached the write phase: {marker!r}\n{err[-2000:]}")
        _wait_for(writing, proc, "rows being written")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == -signal.SIGKILL, "the child was not killed mid-import"


def assert_retry_succeeds(engine: Engine, path: Path, rows: int) -> None:
    report = import_file(engine, path, SPEC)
    assert report.rows_read == rows
    assert report.inserted == rows
    assert report.quarantined == 0
    assert counts(engine) == {"ingest_batches": 1, "bars": rows, "quarantine": 0}


# --------------------------------------------------------------------------- killed process


def test_sigkill_mid_write_leaves_nothing_sqlite(sqlite_url: str, big_csv: Path) -> None:
    ready_engine(sqlite_url).dispose()  # last connection closed: WAL checkpointed and removed
    db = Path(make_url(sqlite_url).database or "")
    wal = db.with_name(db.name + "-wal")

    def wal_growing() -> bool:
        # The batch's pages spill from the page cache into the WAL, uncommitted, as it writes.
        return wal.exists() and wal.stat().st_size > 1 << 20

    kill_mid_write(sqlite_url, big_csv, wal_growing)
    assert wal.stat().st_size > 1 << 20  # uncommitted frames were on disk when it died

    engine = make_engine(sqlite_url)
    try:
        assert counts(engine) == NOTHING
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert_retry_succeeds(engine, big_csv, BIG)
    finally:
        engine.dispose()


def _backend(engine: Engine, query_prefix: str) -> int | None:
    """pid of another session of this database running a statement starting with the prefix."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE :q"
            ),
            {"q": query_prefix + "%"},
        ).scalar()


def _wait_until_gone(engine: Engine, pid: int) -> None:
    """Wait until the server has cleaned up after the dead client's backend."""
    deadline = time.monotonic() + 30
    q = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p")
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.scalar(q, {"p": pid}) == 0:
                return
        time.sleep(0.05)
    pytest.fail("the killed client's backend is still there after 30 s")


def test_sigkill_mid_write_leaves_nothing_postgres(pg_url: str, big_csv: Path) -> None:
    engine = ready_engine(pg_url)
    admin = make_engine(pg_url, poolclass=sqlalchemy.pool.NullPool)
    copying: list[int] = []

    def copy_running() -> bool:
        pid = _backend(admin, "COPY bars")
        copying.extend([pid] if pid is not None else [])
        return pid is not None

    try:
        kill_mid_write(pg_url, big_csv, copy_running)
        assert counts(engine) == NOTHING
        _wait_until_gone(admin, copying[0])
        assert counts(engine) == NOTHING
        assert_retry_succeeds(engine, big_csv, BIG)
    finally:
        engine.dispose()
        admin.dispose()


# --------------------------------------------------------------------------- dropped connection


def test_terminated_backend_mid_write_leaves_nothing(pg_url: str, smaller_csv: Path) -> None:
    engine = ready_engine(pg_url)
    admin = make_engine(pg_url, poolclass=sqlalchemy.pool.NullPool)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["report"] = import_file(engine, smaller_csv, SPEC)
        except BaseException as exc:  # the test inspects it
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        pid = None
        while pid is None and worker.is_alive() and time.monotonic() < deadline:
            pid = _backend(admin, "COPY bars")
            time.sleep(0.005)
        assert pid is not None, f"never saw the COPY running: {outcome}"
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        worker.join(60)
        assert not worker.is_alive()

        assert "report" not in outcome, "the import survived its connection being terminated"
        err = outcome["error"]
        assert isinstance(err, sqlalchemy.exc.OperationalError | psycopg.OperationalError), err
        assert counts(engine) == NOTHING
        assert_retry_succeeds(engine, smaller_csv, SMALLER)  # same engine: the pool recovers
    finally:
        worker.join(60)
        engine.dispose()
        admin.dispose()


# --------------------------------------------------------------------------- failure mid-write


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = ready_engine(db_url)
    yield eng
    eng.dispose()


def test_failure_after_bars_are_written_rolls_everything_back(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad_row.csv"
    path.write_text(
        "time,open,high,low,close,volume\n"
        "2024-01-02 00:00:00,1.1,1.2,1.0,1.15,10\n"
        "2024-01-02 00:01:00,1.1,1.0,1.0,1.15,10\n"  # high below close: quarantined
        "2024-01-02 00:02:00,1.1,1.2,1.0,1.15,10\n"
    )
    written: list[int] = []
    merge = ingest.merge_bars

    def merge_and_count(*args: Any, **kwargs: Any) -> Any:
        result = merge(*args, **kwargs)
        written.append(result.inserted)
        return result

    def boom(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ingest, "merge_bars", merge_and_count)
    monkeypatch.setattr(batches, "add_quarantine", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_file(engine, path, SPEC)
    assert written == [2]  # the bars were in the transaction when it failed
    assert counts(engine) == NOTHING

    monkeypatch.undo()
    report = import_file(engine, path, SPEC)
    assert (report.inserted, report.quarantined) == (2, 1)
    assert counts(engine) == {"ingest_batches": 1, "bars": 2, "quarantine": 1}
