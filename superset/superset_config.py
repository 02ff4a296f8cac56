"""Superset's configuration for Tradewind (Superset 6.1; loaded through SUPERSET_CONFIG_PATH).

Every secret comes from the environment or a secret file, never from this file:

- ``SUPERSET_SECRET_KEY`` or ``SUPERSET_SECRET_KEY_FILE``: signs sessions and encrypts the
  database passwords kept in the metadata DB, so it must stay the same across restarts.
  Superset refuses to start without one.
- ``SUPERSET_DATABASE_URL``: Superset's own metadata database (SQLAlchemy 1.4 URL, e.g.
  ``postgresql+psycopg2://superset@127.0.0.1:5432/superset`` or ``sqlite:////abs/superset.db``);
  its password, if not in the URL, in ``SUPERSET_DATABASE_PASSWORD`` or ``..._FILE``.

The settings suit one trusted host serving the UI on loopback (``make superset``) or behind a
TLS proxy (set ``SUPERSET_COOKIE_SECURE=true`` there): CSRF on, Talisman with a
same-origin content security policy, no telemetry, no examples, dashboard RBAC, in-process
caches with short data timeouts (live P&L changes every few seconds).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url


def _secret(name: str) -> str | None:
    """``$NAME``, else the contents of the file ``$NAME_FILE`` (stripped), else None."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SystemExit(f"superset_config: cannot read {name}_FILE={path}: {exc}") from exc
    if not text:
        raise SystemExit(f"superset_config: {name}_FILE={path} is empty")
    return text


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"superset_config: {name}={raw!r} is not a boolean (true/false)")


def _metadata_uri() -> str:
    url = os.environ.get("SUPERSET_DATABASE_URL")
    if not url:
        raise SystemExit(
            "superset_config: SUPERSET_DATABASE_URL is not set (Superset's metadata database, "
            "e.g. postgresql+psycopg2://superset@127.0.0.1:5432/superset)"
        )
    parsed = make_url(url)
    password = _secret("SUPERSET_DATABASE_PASSWORD")
    if password and parsed.password is None:
        parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)


_secret_key = _secret("SUPERSET_SECRET_KEY")
if not _secret_key:
    raise SystemExit(
        "superset_config: no SECRET_KEY: set SUPERSET_SECRET_KEY or SUPERSET_SECRET_KEY_FILE "
        "(a long random string, e.g. `openssl rand -base64 42`, kept for good: it encrypts the "
        "database passwords stored in the metadata DB)"
    )
SECRET_KEY = _secret_key
SQLALCHEMY_DATABASE_URI = _metadata_uri()

# -- features ------------------------------------------------------------------------------
FEATURE_FLAGS = {
    "DASHBOARD_RBAC": True,  # dashboards can be granted to roles
    "ALERT_REPORTS": False,  # needs Celery workers and a browser
    "ENABLE_TEMPLATE_PROCESSING": False,  # no Jinja in SQL
    "ALLOW_ADHOC_SUBQUERY": False,
    "DASHBOARD_VIRTUALIZATION": True,
}

# -- security ------------------------------------------------------------------------------
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = int(timedelta(hours=12).total_seconds())
PREVENT_UNSAFE_DB_CONNECTIONS = True  # no SQLite files or other local URIs as data sources
PUBLIC_ROLE_LIKE = None  # nothing is visible without logging in
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _flag("SUPERSET_COOKIE_SECURE", False)  # true behind TLS
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],  # no third-party (telemetry) pixels
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,  # loopback HTTP; a TLS proxy in front terminates HTTPS
    "session_cookie_secure": SESSION_COOKIE_SECURE,
}
CONTENT_SECURITY_POLICY_WARNING = False
SHOW_STACKTRACE = False
DEBUG = False

# -- caching: in-process, data kept briefly so live figures stay fresh -----------------------
CACHE_CONFIG = {
    "CACHE_TYPE": "SimpleCache",
    "CACHE_DEFAULT_TIMEOUT": int(timedelta(minutes=10).total_seconds()),
    "CACHE_KEY_PREFIX": "superset_",
}
DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "SimpleCache",
    "CACHE_DEFAULT_TIMEOUT": int(timedelta(seconds=30).total_seconds()),
    "CACHE_KEY_PREFIX": "superset_data_",
}

# -- limits --------------------------------------------------------------------------------
ROW_LIMIT = 10_000
SAMPLES_ROW_LIMIT = 1_000
SQL_MAX_ROW = 100_000
DISPLAY_MAX_ROW = 10_000
SUPERSET_WEBSERVER_TIMEOUT = int(timedelta(minutes=1).total_seconds())
SQLLAB_TIMEOUT = int(timedelta(minutes=1).total_seconds())
