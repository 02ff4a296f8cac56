"""ThrowawayPostgres itself: runs even when TRADEWIND_TEST_DATABASE_URL points elsewhere."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tradewind.testing.postgres import ThrowawayPostgres


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    """Whether the process runs. A zombie (exited, not yet reaped by init) does not count."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    if not Path("/proc").is_dir():  # e.g. macOS: trust kill(0)
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False  # gone meanwhile
    return state != "Z"


def _postmaster_pid(pg: ThrowawayPostgres) -> int:
    assert pg.data_dir is not None
    return int((pg.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])


def test_throwaway_server_starts_serves_and_cleans_up() -> None:
    with ThrowawayPostgres() as pg:
        url = make_url(pg.url)
        assert url.drivername == "postgresql+psycopg"
        assert (url.host, url.username, url.database) == ("127.0.0.1", "postgres", "postgres")
        base_dir, port, pid = pg.base_dir, pg.port, _postmaster_pid(pg)
        assert base_dir is not None
        assert base_dir.is_dir()
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres") as c:
            assert c.execute("select 1").fetchone() == (1,)
            assert c.execute("show fsync").fetchone() == ("off",)
        assert _port_open(port)
    assert not base_dir.exists()
    assert not _port_open(port)
    assert not _alive(pid)
    assert not pg.running


def test_a_durable_throwaway_server_keeps_postgres_crash_safe_defaults() -> None:
    """What the benchmarks' fsync-on rows run on: what users run, not the test settings."""
    with (
        ThrowawayPostgres(durable=True) as pg,
        psycopg.connect(host="127.0.0.1", port=pg.port, user="postgres") as c,
    ):
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            assert c.execute(f"show {setting}").fetchone() == ("on",), setting


def test_throwaway_server_is_removed_when_the_block_raises() -> None:
    pg = ThrowawayPostgres()
    seen: list[tuple[Path | None, int]] = []

    def crash_inside() -> None:
        with pg:
            seen.append((pg.base_dir, pg.port))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        crash_inside()
    [(base_dir, port)] = seen
    assert base_dir is not None
    assert not base_dir.exists()
    assert not _port_open(port)
