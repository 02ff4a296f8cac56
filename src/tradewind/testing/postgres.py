"""Real Postgres servers for tests: an existing one, or a throwaway one started on demand.

Rule: if ``TRADEWIND_TEST_DATABASE_URL`` is set, tests use that server. Otherwise they start a
private, disposable server (``initdb`` into a temp dir, ``pg_ctl start`` on a free loopback port,
durability switched off for speed) and remove it when the process exits, so the tests pass on a
fresh machine with the Postgres server binaries installed and nothing running.

``initdb`` and ``postgres`` refuse to run as root. When this process is root, they run as the
``postgres`` OS user if it exists, else as ``nobody``, with the temp dir owned by that user.

Every test gets its own database on the server (:func:`fresh_database`), dropped afterwards
(:func:`drop_database`).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

ENV_URL = "TRADEWIND_TEST_DATABASE_URL"
"""Name of the environment variable that points the tests at an existing server."""

SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
_SUPERUSER = "postgres"
# Linux allows 107 bytes for a unix socket path; macOS 103.
_MAX_SOCKET_PATH = 103
_INSTALL_HINT = (
    "Install the PostgreSQL server (Debian/Ubuntu: `apt-get install postgresql`; "
    "Fedora: `dnf install postgresql-server`; macOS: `brew install postgresql@15`), "
    f"or set {ENV_URL} to the URL of a running server, "
    "e.g. postgresql://postgres@127.0.0.1:5432/postgres."
)


class PostgresNotFoundError(RuntimeError):
    """No Postgres server binaries (initdb, pg_ctl, postgres) on this machine."""


class ThrowawayPostgresError(RuntimeError):
    """A throwaway server could not be created, started or stopped."""


# --------------------------------------------------------------------------- binaries


def _has_server_binaries(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in SERVER_BINARIES)


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin: newest version first."""
    return tuple(-int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None.

    Looks, in order, at ``pg_config --bindir``, ``PATH`` (symlinks resolved, so Debian's
    ``/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb`` yields the real dir),
    ``/usr/lib/postgresql/*/bin`` (newest version first) and ``/usr/local/pgsql/bin``. A
    directory counts only if all three binaries are there: client-only installs ship
    ``pg_config`` but not the server.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    initdb = shutil.which("initdb")
    if initdb:
        candidates += [Path(initdb).resolve().parent, Path(initdb).parent]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key)
    candidates.append(Path("/usr/local/pgsql/bin"))
    for candidate in candidates:
        if _has_server_binaries(candidate):
            return candidate
    return None


# --------------------------------------------------------------------------- privileges


@dataclass(frozen=True)
class _RunAs:
    """Who runs initdb/pg_ctl/postgres: None fields mean "this process's own user"."""

    uid: int | None = None
    gid: int | None = None
    name: str | None = None

    def subprocess_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        # extra_groups=[] drops root's supplementary groups too.
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _run_as() -> _RunAs:
    """This process's user, or an unprivileged one if it is root (Postgres refuses root)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return _RunAs()
    import pwd

    for name in (_SUPERUSER, "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return _RunAs(uid=entry.pw_uid, gid=entry.pw_gid, name=name)
    raise ThrowawayPostgresError(
        "running as root, and neither a 'postgres' nor a 'nobody' OS user exists to run "
        "initdb/postgres as (Postgres refuses to run as root); create one, e.g. "
        "`useradd --system postgres`, or run the tests as a non-root user"
    )


def _traversable_by(path: Path, who: _RunAs) -> bool:
    """Whether ``who`` can reach ``path`` (search permission on every ancestor)."""
    if who.uid is None:
        return True
    for directory in [path, *path.parents]:
        st = directory.stat()
        if st.st_uid == who.uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == who.gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


def _make_base_dir(who: _RunAs) -> Path:
    """A fresh temp dir the server's user owns and can reach."""
    parent = Path(tempfile.gettempdir())
    if not _traversable_by(parent, who):
        # e.g. TMPDIR=/root/tmp while the server runs as 'postgres'.
        parent = Path("/tmp")
    base = Path(tempfile.mkdtemp(prefix="tradewind-pg-", dir=parent))
    if who.uid is not None and who.gid is not None:
        os.chown(base, who.uid, who.gid)
    return base


# --------------------------------------------------------------------------- the server


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _conf_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _clean_env() -> dict[str, str]:
    """This environment minus PG* variables (PGDATA, PGPORT, ... must not steer the server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


class ThrowawayPostgres:
    """A private Postgres server in a temp dir, for tests. Use it as a context manager.

    ``initdb`` (trust auth, superuser ``postgres``, UTF8, C locale, no fsync) into a fresh temp
    dir, then ``pg_ctl start`` listening on 127.0.0.1 only, on a free port, with its unix
    socket inside the temp dir and ``fsync``/``synchronous_commit``/``full_page_writes`` off:
    fast, and not crash-safe, which a test server need not be. :meth:`stop` (``pg_ctl stop -m
    immediate``) removes the temp dir; it runs on ``with`` exit, on errors during start, and at
    interpreter exit (``atexit``) if the server is still up then.

    ``durable=True`` keeps Postgres' own crash-safe defaults instead (``fsync``,
    ``synchronous_commit`` and ``full_page_writes`` on), which is what users run: benchmarks
    measure writes on both.

    >>> with ThrowawayPostgres() as pg:  # doctest: +SKIP
    ...     engine = make_engine(pg.url)
    """

    def __init__(
        self, bin_dir: Path | None = None, *, start_timeout: float = 60.0, durable: bool = False
    ) -> None:
        self._bin_dir = bin_dir
        self.durable = durable
        self._start_timeout = start_timeout
        self._base_dir: Path | None = None
        self._port: int | None = None
        self._who = _RunAs()
        self._owner_pid = os.getpid()
        self._lock = threading.Lock()
        self.startup_seconds: float | None = None
        """Wall-clock seconds :meth:`start` took (initdb + start + first connection)."""

    # -- public API

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database: ``postgresql+psycopg://...``."""
        return f"postgresql+psycopg://{_SUPERUSER}@127.0.0.1:{self.port}/postgres"

    @property
    def port(self) -> int:
        if self._port is None:
            raise ThrowawayPostgresError("the server is not running; call start() first")
        return self._port

    @property
    def base_dir(self) -> Path | None:
        """The temp dir (data dir, socket dir, log), or None when not running."""
        return self._base_dir

    @property
    def data_dir(self) -> Path | None:
        return None if self._base_dir is None else self._base_dir / "data"

    @property
    def running(self) -> bool:
        return self._port is not None

    def start(self) -> Self:
        """Create and start the server; on any failure, clean up and raise."""
        with self._lock:
            if self._base_dir is not None:
                raise ThrowawayPostgresError("already started")
            began = time.monotonic()
            bin_dir = self._bin_dir or find_pg_bin()
            if bin_dir is None:
                raise PostgresNotFoundError(
                    "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found in "
                    "`pg_config --bindir`, PATH, /usr/lib/postgresql/*/bin or "
                    "/usr/local/pgsql/bin, so no throwaway test server can be started. "
                    + _INSTALL_HINT
                )
            self._bin_dir = bin_dir
            self._who = _run_as()
            self._owner_pid = os.getpid()
            self._base_dir = _make_base_dir(self._who)
            atexit.register(self._atexit_stop)
            try:
                self._initdb()
                self._start_server()
            except BaseException:
                self._stop_locked()
                raise
            self.startup_seconds = time.monotonic() - began
            return self

    def stop(self) -> None:
        """Stop the server (immediate shutdown) and delete its temp dir. Safe to call twice."""
        with self._lock:
            self._stop_locked()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self._port}" if self._port else "stopped"
        return f"ThrowawayPostgres({state}, base_dir={self._base_dir})"

    # -- internals

    def _run(self, args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        assert self._base_dir is not None
        return subprocess.run(
            args,
            cwd=self._base_dir,
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **self._who.subprocess_kwargs(),
        )

    def _bin(self, name: str) -> str:
        assert self._bin_dir is not None
        return str(self._bin_dir / name)

    def _initdb(self) -> None:
        assert self._base_dir is not None
        assert self.data_dir is not None
        socket_dir = self._base_dir / "socket"
        socket_dir.mkdir()
        if self._who.uid is not None and self._who.gid is not None:
            os.chown(socket_dir, self._who.uid, self._who.gid)
        if len(str(socket_dir / ".s.PGSQL.65535")) > _MAX_SOCKET_PATH:
            raise ThrowawayPostgresError(
                f"temp dir path {self._base_dir} is too long for a unix socket; "
                "set TMPDIR to a shorter directory"
            )
        cmd = [
            self._bin("initdb"),
            "--pgdata",
            str(self.data_dir),
            "--auth=trust",
            "-U",
            _SUPERUSER,
            "--encoding=UTF8",
            "--locale=C",  # locale-independent, and no dependency on installed locales
            "--no-sync",
        ]
        done = self._run(cmd, timeout=self._start_timeout)
        if done.returncode != 0:
            raise ThrowawayPostgresError(
                f"initdb failed (exit {done.returncode}{self._as_whom()}):\n"
                f"{done.stdout}\n{done.stderr}"
            )
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(socket_dir),
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        # Appending keeps the file's owner (the server's user). The port goes on the command
        # line instead, so a retry on another port needs no rewrite.
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as f:
            f.write("\n# tradewind.testing.postgres: throwaway test server\n")
            for key, value in settings.items():
                f.write(f"{key} = {_conf_quote(value)}\n")

    def _start_server(self, attempts: int = 3) -> None:
        assert self._base_dir is not None
        log = self._base_dir / "postgres.log"
        for attempt in range(1, attempts + 1):
            port = _free_port()
            done = self._run(
                [
                    self._bin("pg_ctl"),
                    "start",
                    "--pgdata",
                    str(self.data_dir),
                    "--log",
                    str(log),
                    "--wait",
                    "--timeout",
                    str(int(self._start_timeout)),
                    "-o",
                    f"-p {port}",
                ],
                timeout=self._start_timeout + 10,
            )
            if done.returncode == 0:
                self._port = port
                self._wait_until_ready()
                return
            tail = _tail(log)
            # Another process grabbed the port between our probe and the server's bind.
            port_taken = "could not bind" in tail or "already in use" in tail
            if port_taken and attempt < attempts:
                continue
            raise ThrowawayPostgresError(
                f"pg_ctl start failed (exit {done.returncode}{self._as_whom()}):\n"
                f"{done.stdout}\n{done.stderr}\n--- {log} (tail) ---\n{tail}"
            )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self._start_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(
                    host="127.0.0.1",
                    port=self.port,
                    user=_SUPERUSER,
                    dbname="postgres",
                    connect_timeout=2,
                    autocommit=True,
                ) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.05)
        raise ThrowawayPostgresError(
            f"server on 127.0.0.1:{self._port} did not accept connections within "
            f"{self._start_timeout:.0f}s: {last}"
        )

    def _as_whom(self) -> str:
        return f", run as OS user {self._who.name!r}" if self._who.name else ""

    def _postmaster_pid(self) -> int | None:
        if self.data_dir is None:
            return None
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def _stop_locked(self) -> None:
        base = self._base_dir
        if base is None:
            return
        try:
            pid = self._postmaster_pid()
            if pid is not None:
                stopped = False
                with contextlib.suppress(subprocess.TimeoutExpired):
                    done = self._run(
                        [
                            self._bin("pg_ctl"),
                            "stop",
                            "--pgdata",
                            str(self.data_dir),
                            "-m",
                            "immediate",
                            "--wait",
                        ],
                        timeout=60,
                    )
                    stopped = done.returncode == 0
                if not stopped:
                    # pg_ctl could not do it (e.g. a half-started server): kill the postmaster;
                    # its children exit when they notice it is gone.
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
        finally:
            self._port = None
            self._base_dir = None
            shutil.rmtree(base, ignore_errors=True)
            atexit.unregister(self._atexit_stop)

    def _atexit_stop(self) -> None:
        # A forked child inherits atexit handlers; only the process that started it stops it.
        if os.getpid() == self._owner_pid:
            self.stop()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------- per-process server

_server: ThrowawayPostgres | None = None
_server_lock = threading.Lock()


def postgres_server_url() -> str:
    """URL of the server tests should use.

    ``$TRADEWIND_TEST_DATABASE_URL`` if set (and not empty), else a :class:`ThrowawayPostgres`
    started on first call and shared by this process until it exits.
    """
    env = os.environ.get(ENV_URL, "").strip()
    if env:
        return env
    global _server
    with _server_lock:
        if _server is None or not _server.running:
            _server = ThrowawayPostgres().start()
        return _server.url


# --------------------------------------------------------------------------- databases


def _connect_kwargs(url: URL, dbname: str | None) -> dict[str, Any]:
    """psycopg connection arguments for a SQLAlchemy URL (query params become libpq params)."""
    kwargs: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": dbname,
    }
    for key, value in url.query.items():
        kwargs[key] = value if isinstance(value, str) else value[-1]
    return {k: v for k, v in kwargs.items() if v is not None}


def _pg_url(url: str) -> URL:
    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        raise ValueError(f"not a Postgres URL: {u.render_as_string(hide_password=True)}")
    return u


def fresh_database(server_url: str) -> str:
    """Create an empty database ``tw_test_<8 hex>`` on the server and return its URL.

    The URL is ``server_url`` with the database name swapped (driver, user, password and
    query kept). The admin connection goes to the database named in ``server_url``.
    """
    u = _pg_url(server_url)
    name = f"tw_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(**_connect_kwargs(u, u.database), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return u.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, *, maintenance_db: str = "postgres") -> None:
    """Drop the database ``url`` names, closing any connections still open to it.

    Connects to ``maintenance_db`` on the same server (``template1`` if that fails) and runs
    ``DROP DATABASE IF EXISTS ... WITH (FORCE)`` (Postgres 13+).
    """
    u = _pg_url(url)
    if not u.database:
        raise ValueError("the URL names no database to drop")
    if u.database in (maintenance_db, "template0", "template1", "postgres"):
        raise ValueError(f"refusing to drop the {u.database!r} database")
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
        sql.Identifier(u.database)
    )
    try:
        conn = psycopg.connect(**_connect_kwargs(u, maintenance_db), autocommit=True)
    except psycopg.OperationalError:
        conn = psycopg.connect(**_connect_kwargs(u, "template1"), autocommit=True)
    with conn:
        conn.execute(statement)
