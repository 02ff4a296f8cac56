"""A real Superset for the dashboard tests: its own venv (``TRADEWIND_SUPERSET_VENV``,
default ``<repo>/.venv-superset``, built by ``make test``), a throwaway metadata database on
the test Postgres, ``superset/provision.py`` to migrate it, create the admin and import the
bundle, and gunicorn on a free loopback port. The tests talk to it over its REST API as the
admin, with the password the provisioner generated into a mode-600 file.

Superset runs in subprocesses with an environment built here, so nothing of the pytest
process's configuration leaks into it, and no secret is ever on a command line.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import requests
import yaml
from psycopg import sql
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
PROVISION = REPO / "superset" / "provision.py"
CONFIG = REPO / "superset" / "superset_config.py"
# one worker of four threads: the machine has two cores
GUNICORN = ("--workers", "1", "--worker-class", "gthread", "--threads", "4", "--timeout", "120",
            "--no-control-socket", "superset.app:create_app()")  # fmt: skip
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONHASHSEED")


def superset_venv() -> Path:
    venv = Path(os.environ.get("TRADEWIND_SUPERSET_VENV") or REPO / ".venv-superset")
    if not (venv / "bin" / "gunicorn").exists():
        raise FileNotFoundError(
            f"no Superset venv at {venv}: `make test` builds it from superset/requirements.txt "
            "(or set TRADEWIND_SUPERSET_VENV)"
        )
    return venv


def bundle_dir() -> Path:
    bundle = Path(os.environ.get("TRADEWIND_SUPERSET_BUNDLE") or REPO / "superset" / "bundle")
    if not (bundle / "metadata.yaml").is_file():
        raise FileNotFoundError(f"no Superset bundle at {bundle} (TRADEWIND_SUPERSET_BUNDLE)")
    return bundle


def bundle_objects(bundle: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The bundle's YAML objects by section (``charts``, ...) and uuid."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for section in ("databases", "datasets", "charts", "dashboards"):
        out[section] = {}
        for path in sorted((bundle / section).rglob("*.y*ml")):
            obj = yaml.safe_load(path.read_text(encoding="utf-8"))
            out[section][str(obj["uuid"])] = obj
    return out


def psycopg2_url(url: str) -> str:
    """The same database for Superset's SQLAlchemy 1.4 and psycopg2."""
    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(False)


def conninfo(url: str) -> dict[str, Any]:
    u = make_url(url)
    return {
        "host": u.host or "127.0.0.1",
        "port": u.port or 5432,
        "user": u.username,
        "password": u.password,
        "dbname": u.database,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_reporting_role(tw_url: str, role: str, password: str) -> None:
    """The read-only role the bundle's database connects as (``tradewind db reporting-role``'s
    library function)."""
    from tradewind.storage.engine import make_engine
    from tradewind.storage.reporting_role import ensure_reporting_role

    engine = make_engine(tw_url)
    try:
        ensure_reporting_role(engine, role, password)
    finally:
        engine.dispose()


def drop_role(server_url: str, role: str) -> None:
    with psycopg.connect(**conninfo(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@dataclass
class Superset:
    """One Superset home: its environment (metadata DB, secrets, the bundle's variables)."""

    home: Path
    env: dict[str, str]
    venv: Path
    bundle: Path
    tw_url: str
    port: int = 0

    @classmethod
    def make(cls, home: Path, metadata_url: str, tw_url: str, role: str, password: str) -> Superset:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = home / "secret_key"
        key.write_text(secrets.token_urlsafe(32))
        key.chmod(0o600)
        pw_file = home / "reporting_password"
        pw_file.write_text(password)
        pw_file.chmod(0o600)
        tw = conninfo(tw_url)
        env = {k: os.environ[k] for k in _KEEP if k in os.environ}
        env.update(
            SUPERSET_CONFIG_PATH=str(CONFIG),
            SUPERSET_HOME=str(home),
            SUPERSET_SECRET_KEY_FILE=str(key),
            SUPERSET_DATABASE_URL=psycopg2_url(metadata_url),
            TRADEWIND_REPORTING_USER=role,
            TRADEWIND_REPORTING_PASSWORD_FILE=str(pw_file),
            TRADEWIND_REPORTING_HOST=str(tw["host"]),
            TRADEWIND_REPORTING_PORT=str(tw["port"]),
            TRADEWIND_REPORTING_DB=str(tw["dbname"]),
        )
        return cls(home, env, superset_venv(), bundle_dir(), tw_url)

    @property
    def admin_password_file(self) -> Path:
        return self.home / "secrets" / "admin_password"

    def provision(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "python"), str(PROVISION), "--bundle", str(self.bundle)],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    @contextmanager
    def serving(self, timeout: float = 180.0) -> Iterator[str]:
        """gunicorn on a free loopback port; yields the base URL."""
        self.port = free_port()
        log = (self.home / "gunicorn.log").open("w")
        proc = subprocess.Popen(
            [str(self.venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", *GUNICORN],
            env=self.env,
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{self.port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"gunicorn exited {proc.returncode}: {self.log_tail()}")
                try:
                    if requests.get(f"{base}/health", timeout=5).status_code == 200:
                        break
                except (requests.ConnectionError, requests.Timeout):  # still loading
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Superset not healthy in {timeout}s: {self.log_tail()}")
                time.sleep(1)
            yield base
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()

    def log_tail(self, chars: int = 4000) -> str:
        return (self.home / "gunicorn.log").read_text(errors="replace")[-chars:]


class Api:
    """Superset's REST API as one user: a JWT from /api/v1/security/login, then the CSRF token
    (with its session cookie) for writes."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base
        self.http = requests.Session()
        done = self.http.post(
            f"{base}/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": True},
            timeout=30,
        )
        done.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {done.json()['access_token']}"
        csrf = self.http.get(f"{base}/api/v1/security/csrf_token/", timeout=30)
        csrf.raise_for_status()
        self.http.headers["X-CSRFToken"] = csrf.json()["result"]
        self.http.headers["Referer"] = base

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(f"{self.base}{path}", params=params, timeout=120)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.http.post(f"{self.base}{path}", json=body, timeout=120)

    def listing(self, resource: str) -> list[dict[str, Any]]:
        """Every object of ``resource`` (``chart``, ``dashboard``, ...), with its uuid."""
        rows: list[dict[str, Any]] = []
        page = 0
        while True:
            query = f"(page:{page},page_size:100)"
            done = self.get(f"/api/v1/{resource}/", q=query)
            done.raise_for_status()
            body = done.json()
            rows += body["result"]
            if len(rows) >= body["count"] or not body["result"]:
                return rows
            page += 1


@dataclass
class Running:
    """The session's Superset: serving at ``base``, the admin's API, the bundle's objects."""

    superset: Superset
    base: str
    api: Api
    bundle: dict[str, dict[str, dict[str, Any]]]
    provision_output: list[str]


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp* writes them) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found
