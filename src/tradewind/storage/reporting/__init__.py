"""The reporting views: a stable, read-only surface of the platform's tables for dashboards
(Superset) and SQL users. ``docs/reporting.md`` documents every column.

Postgres: schema ``reporting``, views ``reporting.<name>``, timestamps ``timestamptz``.
SQLite: views ``reporting_<name>`` (no schemas), timestamps as ISO text in UTC; a view that
needs what SQLite lacks (``live_daily_pnl``: the New York FX day) is Postgres only.

Definitions are versioned: ``DEFINITIONS[1]`` is what migration ``0007_reporting_views``
creates, and it never changes. A change of the views is a new version (new modules, a new
entry here) created by a new migration with ``create_views(conn, version=N)``, which drops
the previous version's views first. ``VIEWS`` is the contract of the newest version: view
name -> its columns in order (the dashboards and their validator import it).

Privileges: views run with their owner's rights, so a reader needs SELECT on the views only
(see ``reporting_role``). ``create_views`` grants SELECT on the new views to every role that
may use schema ``reporting``, so a reader keeps its access when the views are re-created.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, text

from tradewind.storage.reporting import v1_live, v1_research
from tradewind.storage.reporting.dialect import Sql
from tradewind.storage.reporting.view import View

SCHEMA = "reporting"
DEFINITIONS: Mapping[int, tuple[View, ...]] = {1: (*v1_live.VIEWS, *v1_research.VIEWS)}
LATEST = max(DEFINITIONS)

VIEWS: Mapping[str, tuple[str, ...]] = {v.name: v.columns for v in DEFINITIONS[LATEST]}
"""View name -> column names, in order: the contract of the newest version."""
POSTGRES_ONLY: frozenset[str] = frozenset(v.name for v in DEFINITIONS[LATEST] if v.postgres_only)
"""Views that exist on Postgres only (SQLite cannot express them faithfully)."""


def view_name(name: str, dialect: str) -> str:
    """What ``name`` is called on ``dialect``: ``reporting.name`` or ``reporting_name``."""
    return Sql(dialect).view(name)


def views_on(dialect: str, version: int = LATEST) -> tuple[View, ...]:
    """The views of ``version`` that exist on ``dialect``."""
    return tuple(v for v in DEFINITIONS[version] if v.on(dialect))


def create_views(conn: Connection, version: int) -> None:
    """Create the views of ``version`` (dropping whatever views of that name exist)."""
    dialect = conn.dialect.name
    sql = Sql(dialect)
    if sql.postgres:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    for view in DEFINITIONS[version]:
        conn.execute(text(f"DROP VIEW IF EXISTS {sql.view(view.name)}"))
    for view in views_on(dialect, version):
        conn.execute(text(f"CREATE VIEW {sql.view(view.name)} AS {view.select(sql)}"))
    if sql.postgres:
        _regrant(conn)


def drop_views(conn: Connection, version: int) -> None:
    """Drop the views of ``version``; on Postgres the schema too, unless a role was granted
    access to it (a reporting role's grants live on the schema: it stays, empty)."""
    sql = Sql(conn.dialect.name)
    for view in DEFINITIONS[version]:
        conn.execute(text(f"DROP VIEW IF EXISTS {sql.view(view.name)}"))
    if sql.postgres and not readers(conn):
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA}"))


def readers(conn: Connection) -> list[str]:
    """Roles other than the owner that may use schema ``reporting`` (Postgres)."""
    rows = conn.execute(
        text(
            "SELECT a.grantee::regrole::text FROM pg_namespace n, aclexplode(n.nspacl) a "
            "WHERE n.nspname = :schema AND a.privilege_type = 'USAGE' "
            "AND a.grantee <> n.nspowner AND a.grantee <> 0"
        ),
        {"schema": SCHEMA},
    )
    return sorted({r[0] for r in rows})


def _regrant(conn: Connection) -> None:
    for role in readers(conn):  # regrole's text is the role's quoted identifier
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO {role}"))


__all__ = [
    "DEFINITIONS",
    "LATEST",
    "POSTGRES_ONLY",
    "SCHEMA",
    "VIEWS",
    "View",
    "create_views",
    "drop_views",
    "readers",
    "view_name",
    "views_on",
]
