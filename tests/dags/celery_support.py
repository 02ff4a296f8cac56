"""A real CeleryExecutor Airflow for a test: a throwaway ``redis-server`` as the broker,
Postgres as the metadata database and Celery result backend, and ``airflow api-server``,
``scheduler``, ``dag-processor`` and Celery workers as subprocesses sharing one environment.

Every process has its own session (process group) and log file; ``CeleryStack.tail()``
shows the logs when something fails, ``close()`` stops every group it started.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from airflow_support import _DROP, AIRFLOW, DAGS, REPO
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def airflow_db_url(url: str) -> str:
    """``url`` with the psycopg2 driver (the one Airflow's metadata DB is tested with)."""
    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(False)


def stack_env(home: Path, metadata_url: str, redis_port: int, api_port: int) -> dict[str, str]:
    """The environment every Airflow process of the stack shares (the settings a Celery
    deployment needs; the compose stack uses the same ones)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP)}
    db = airflow_db_url(metadata_url)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{db}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "86400",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")])),
        }
    )
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    handle: IO[bytes]

    def tail(self, chars: int = 3000) -> str:
        self.handle.flush()
        return self.log.read_text(errors="replace")[-chars:]


@dataclass
class CeleryStack:
    home: Path
    env: dict[str, str]
    procs: list[Proc] = field(default_factory=list)

    def start(self, name: str, *args: str) -> Proc:
        log = self.home / f"{name}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(
            list(args),
            env=self.env,
            cwd=self.home,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )
        proc = Proc(name, popen, log, handle)
        self.procs.append(proc)
        return proc

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AIRFLOW, *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def check_alive(self) -> None:
        for p in self.procs:
            if p.popen.poll() is not None:
                raise AssertionError(
                    f"{p.name} exited with {p.popen.returncode}:\n{p.tail()}\n{self.tail()}"
                )

    def tail(self, chars: int = 2500) -> str:
        return "\n".join(f"----- {p.name} ({p.log}) -----\n{p.tail(chars)}" for p in self.procs)

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.popen.poll() is None:
                os.killpg(p.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for p in reversed(self.procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.popen.wait(max(0.1, deadline - time.monotonic()))
            # whatever is left of the group (task processes, pool children)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.popen.pid, signal.SIGKILL)
            p.popen.wait(10)
            p.handle.close()


def check_celery() -> None:
    """Celery 5.7 dropped ``celery.backends.database.retry``, which the Celery provider
    (3.26.0) imports when it loads: with it no CeleryExecutor part can start."""
    import celery
    from celery.backends import database

    if not hasattr(database, "retry"):
        raise AssertionError(
            f"celery {celery.__version__} cannot run Airflow's CeleryExecutor "
            "(apache-airflow-providers-celery imports celery.backends.database.retry, gone "
            "in celery 5.7): install celery==5.6.3"
        )


def redis_server() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise AssertionError(
            "redis-server is not on PATH: the Celery test needs it as its broker "
            "(Debian/Ubuntu: apt-get install redis-server)"
        )
    return found


def wait_until(what: str, check: Any, stack: CeleryStack, timeout: float) -> Any:
    """Poll ``check()`` until it returns something truthy; fail with the logs after
    ``timeout`` seconds or when a process of the stack died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        got = check()
        if got:
            return got
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}:\n{stack.tail()}")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def query(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(airflow_db_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()
