"""Airflow connections -> Tradewind adapters: URLs built field by field (a password with URL
metacharacters survives), clear errors naming the connection, and no secret in a repr."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tradewind.orchestration.connections import (
    JobSetupError,
    LandingBucket,
    _http_url,
    database_url,
)


def conn(**fields: Any) -> SimpleNamespace:
    base = dict(conn_type="", host=None, port=None, schema=None, login=None, password=None)
    base.update(fields)
    extra = base.pop("extra", {})
    return SimpleNamespace(**base, extra_dejson=extra, extra=json.dumps(extra))


def test_a_postgres_connection_becomes_a_psycopg_url_with_its_password_intact() -> None:
    url = make_url(
        database_url(
            conn(
                conn_type="postgres",
                host="db",
                port=5432,
                schema="tradewind",
                login="tw",
                password="p@ss:w/rd%",
            )
        )
    )
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database, url.username) == ("db", 5432, "tradewind", "tw")
    assert url.password == "p@ss:w/rd%"


def test_a_sqlite_connection_names_the_file() -> None:
    assert database_url(conn(conn_type="sqlite", host="/data/tw.db")) == "sqlite:////data/tw.db"


def test_without_a_connection_the_settings_decide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWIND_DATABASE_URL", "postgresql://someone@dbhost/tw")
    assert database_url(None) == "postgresql://someone@dbhost/tw"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"conn_type": "mysql", "host": "x"}, "type 'mysql' is not postgres or sqlite"),
        ({"conn_type": "sqlite"}, "sqlite needs host = the file path"),
    ],
)
def test_an_unusable_database_connection_is_refused_by_name(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(JobSetupError, match="connection 'tradewind_db'") as err:
        database_url(conn(**fields))
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("fields", "url"),
    [
        ({"host": "http://venue:8081/"}, "http://venue:8081"),
        ({"host": "venue", "port": 8081}, "http://venue:8081"),
        ({"host": "venue", "port": 443, "schema": "https"}, "https://venue:443"),
    ],
)
def test_http_urls_from_host_port_and_scheme(fields: dict[str, Any], url: str) -> None:
    assert _http_url(conn(**fields)) == url


def test_the_landing_bucket_never_shows_its_keys() -> None:
    bucket = LandingBucket("http://minio:9000", "AKIAEXAMPLE", "s3cr3t", bucket="landing")
    assert "AKIAEXAMPLE" not in repr(bucket)
    assert "s3cr3t" not in repr(bucket)
