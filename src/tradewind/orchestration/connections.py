"""Adapters from Airflow connections, with Tradewind's own settings as the fallback.

- ``tradewind_db``: type ``postgres`` (host, port, schema = the database, login, password) or
  ``sqlite`` (host = the file). Without it: ``TRADEWIND_DATABASE_URL``, else the embedded
  SQLite file under ``TRADEWIND_HOME``.
- ``oanda``: password = the token; extra ``environment`` (``venue``, ``practice``, ``live``),
  ``account_id``, ``allow_live``; host = a venue's base URL. Without it a job that needs a
  broker fails, naming the connection.
- ``mlflow``: host = the tracking URI; login/password for MLflow's basic auth. Without it:
  ``MLFLOW_TRACKING_URI``, else the embedded store under ``TRADEWIND_HOME``.
- ``minio``: host = the S3 endpoint (``http://minio:9000``); login/password = the access and
  secret keys; extra ``bucket`` (the landing bucket), ``region``. Without it, no landing bucket.

Secrets stay in the connection (an ``AIRFLOW_CONN_*`` variable, a secrets backend or
Airflow's encrypted store); none is ever written to a log line or an error: errors name the
connection, not its contents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from tradewind.config import Settings
from tradewind.storage.engine import make_engine

DB_CONN = "tradewind_db"
BROKER_CONN = "oanda"
MLFLOW_CONN = "mlflow"
LANDING_CONN = "minio"


class JobSetupError(LookupError):
    """A connection a job needs is missing or unusable (the message names it and why)."""


def connection(conn_id: str) -> Any | None:
    """Airflow's connection ``conn_id``, or None when it is not defined anywhere."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def database_url(conn: Any | None) -> str:
    """The SQLAlchemy URL a ``tradewind_db`` connection describes (Settings' when None)."""
    if conn is None:
        return Settings().resolved_database_url
    kind = (conn.conn_type or "").lower()
    if kind in ("postgres", "postgresql"):
        return URL.create(
            "postgresql+psycopg",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        ).render_as_string(hide_password=False)
    if kind == "sqlite":
        if not conn.host:
            raise JobSetupError(f"connection {DB_CONN!r}: sqlite needs host = the file path")
        return f"sqlite:///{conn.host}"
    raise JobSetupError(
        f"connection {DB_CONN!r}: type {kind or '(none)'!r} is not postgres or sqlite"
    )


@cache
def _engine(url: str) -> Engine:
    return make_engine(url)


def engine() -> Engine:
    """The security master the jobs read and write, at the code's schema revision."""
    from tradewind.storage import migrate

    url = database_url(connection(DB_CONN))
    eng = _engine(url)
    current, head = migrate.current_revision(eng), migrate.head_revision(eng)
    if current != head:
        shown = eng.url.render_as_string(hide_password=True)
        state = "not initialised" if current is None else f"at {current}, code wants {head}"
        raise JobSetupError(f"database {shown} is {state}: run `tradewind init`")
    return eng


def broker(account_id: str | None = None) -> Any:
    """The OANDA adapter the ``oanda`` connection names (the paper venue, practice or live),
    on ``account_id`` when given (another account the same token reaches), else the
    connection's."""
    from tradewind.broker.environments import register_environment
    from tradewind.broker.oanda import OandaBroker

    conn = connection(BROKER_CONN)
    if conn is None:
        raise JobSetupError(
            f"no Airflow connection {BROKER_CONN!r}: set AIRFLOW_CONN_OANDA (token as the "
            "password, extra environment/account_id) to reach a broker"
        )
    extra = conn.extra_dejson
    environment = str(extra.get("environment", "practice"))
    if not conn.password:
        raise JobSetupError(f"connection {BROKER_CONN!r}: no token (its password) is set")
    if environment == "venue":
        if not conn.host:
            raise JobSetupError(f"connection {BROKER_CONN!r}: a venue needs host = its URL")
        register_environment("tradewind-venue", _http_url(conn))
        environment = "tradewind-venue"
    return OandaBroker(
        environment,
        token=conn.password,
        account_id=account_id or extra.get("account_id"),
        allow_live=bool(extra.get("allow_live", False)),
    )


def _http_url(conn: Any) -> str:
    host = str(conn.host)
    if "://" not in host:
        host = f"{conn.schema or 'http'}://{host}"
    if conn.port and host.count(":") < 2:
        host = f"{host}:{conn.port}"
    return host.rstrip("/")


def tracking() -> Any:
    """The MLflow tracking server (or the embedded store) models are logged to and loaded
    from; basic-auth credentials go to MLflow through its own environment variables."""
    from tradewind.registry.tracking import Tracking, configure, resolve_tracking

    conn = connection(MLFLOW_CONN)
    if conn is None:
        return configure(resolve_tracking(Settings().home))
    uri = _http_url(conn)
    if conn.login:
        os.environ["MLFLOW_TRACKING_USERNAME"] = conn.login
        os.environ["MLFLOW_TRACKING_PASSWORD"] = conn.password or ""
    return configure(Tracking(uri, uri))


@dataclass(frozen=True)
class LandingBucket:
    """Where files to import are dropped: an S3 bucket on MinIO or any S3-compatible store."""

    endpoint: str  # http(s)://host:port
    access_key: str
    secret_key: str = ""
    bucket: str = "tradewind-landing"
    region: str | None = None

    def __repr__(self) -> str:  # never the keys
        return f"LandingBucket({self.endpoint!r}, bucket={self.bucket!r})"

    def client(self) -> Any:  # -> minio.Minio
        from urllib.parse import urlsplit

        from minio import Minio

        parts = urlsplit(self.endpoint)
        return Minio(
            parts.netloc,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=parts.scheme == "https",
            region=self.region,
        )


def landing() -> LandingBucket:
    conn = connection(LANDING_CONN)
    if conn is None:
        raise JobSetupError(
            f"no Airflow connection {LANDING_CONN!r}: set AIRFLOW_CONN_MINIO (endpoint as "
            "host, keys as login/password, extra bucket) to import from a landing bucket"
        )
    extra = conn.extra_dejson
    return LandingBucket(
        endpoint=_http_url(conn),
        access_key=conn.login or "",
        secret_key=conn.password or "",
        bucket=str(extra.get("bucket", "tradewind-landing")),
        region=extra.get("region"),
    )
