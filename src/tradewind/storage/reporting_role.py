"""A read-only LOGIN role for the reporting views (Postgres): what a dashboard connects as.

``ensure_reporting_role`` creates the role or brings an existing one back to exactly this,
so running it twice is the same as once:

- LOGIN with the given password, and no other attribute (not superuser, no CREATEDB,
  CREATEROLE, REPLICATION or BYPASSRLS);
- CONNECT on the database, USAGE on schema ``reporting``, SELECT on every view in it, and
  default privileges so views the schema's owner creates later (a migration re-creating the
  views) are readable too; ``reporting.create_views`` also re-grants SELECT to every role
  with USAGE on the schema;
- nothing in ``public``: privileges granted to the role there are revoked, and when
  ``PUBLIC`` may CREATE in schema ``public`` (Postgres before 15) that is revoked from
  ``PUBLIC``, the role running this keeping it by a grant of its own.

Views run with their owner's rights, so the role reads the views without any right on the
tables behind them. The password never reaches the server in clear: libpq turns it into a
SCRAM verifier on the client (``PQencryptPasswordConn``, what psql's ``\\password`` does), so
no statement log can show it; identifiers and the verifier are quoted by ``psycopg.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql
from sqlalchemy import Engine

from tradewind.storage.reporting import SCHEMA

DEFAULT_ROLE = "tradewind_reporting"
_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"


class ReportingRoleError(ValueError):
    """The role cannot be set up here: SQLite, no reporting schema, or a role not to touch."""


@dataclass(frozen=True)
class RoleReport:
    role: str
    database: str
    created: bool  # False: an existing role was brought up to date
    views: int  # views in schema reporting the role can read
    revoked_public_create: bool  # CREATE on schema public was revoked from PUBLIC


def ensure_reporting_role(engine: Engine, role: str, password: str) -> RoleReport:
    """Create or update ``role`` as the reporting views' reader (see the module's doc)."""
    if engine.dialect.name != "postgresql":
        raise ReportingRoleError(
            f"the reporting role needs Postgres, not {engine.dialect.name}: SQLite has no "
            "roles (whoever can read the database file can read its reporting_* views)"
        )
    if not role or len(role.encode()) > 63:
        raise ReportingRoleError(f"role name {role!r}: 1 to 63 bytes")
    if not password:
        raise ReportingRoleError(f"role {role}: the password is empty")
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            return _ensure(raw, cur, role, password)


def _one(cur: Any, query: str, *params: Any) -> Any:
    cur.execute(query, params)
    row = cur.fetchone()
    return None if row is None else row[0]


def _ensure(raw: Any, cur: Any, role: str, password: str) -> RoleReport:
    database = _one(cur, "SELECT current_database()")
    owner = _one(cur, "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s", SCHEMA)
    if owner is None:
        raise ReportingRoleError(
            f"database {database} has no schema {SCHEMA}: migrate it first (tradewind init)"
        )
    existing = _one(cur, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", role)
    me = _one(cur, "SELECT current_user")
    if existing or role in (me, owner.strip('"')):
        raise ReportingRoleError(
            f"role {role} is a superuser, the role running this or the owner of schema "
            f"{SCHEMA}: refusing to make it the read-only reporting role"
        )
    ident = sql.Identifier(role)
    verifier = raw.pgconn.encrypt_password(password.encode(), role.encode()).decode()
    verb = "CREATE" if existing is None else "ALTER"
    cur.execute(
        sql.SQL(verb + " ROLE {} WITH " + _ATTRIBUTES + " PASSWORD {}").format(
            ident, sql.Literal(verifier)
        )
    )
    revoked = _nothing_in_public(cur, ident, me)
    schema = sql.Identifier(SCHEMA)
    for statement in (
        "GRANT CONNECT ON DATABASE {db} TO {role}",
        "REVOKE CREATE ON DATABASE {db} FROM {role}",
        "REVOKE ALL ON SCHEMA {schema} FROM {role}",
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}",
        "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        "GRANT SELECT ON TABLES TO {role}",
    ):
        cur.execute(
            sql.SQL(statement).format(
                db=sql.Identifier(database),
                role=ident,
                schema=schema,
                owner=sql.SQL(owner),  # regrole's text: already a quoted identifier
            )
        )
    views = _one(
        cur,
        "SELECT count(*) FROM pg_views WHERE schemaname = %s "
        "AND has_table_privilege(%s, format('%%I.%%I', schemaname, viewname), 'SELECT')",
        SCHEMA,
        role,
    )
    return RoleReport(role, database, existing is None, int(views), revoked)


def _nothing_in_public(cur: Any, ident: sql.Identifier, me: str) -> bool:
    """No right of the role's own in schema public; CREATE there revoked from PUBLIC (and
    kept for ``me``) when this Postgres grants it. Returns whether that revoke happened."""
    for statement in (
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}",
        "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}",
        "REVOKE ALL ON SCHEMA public FROM {}",
    ):
        cur.execute(sql.SQL(statement).format(ident))
    public_creates = _one(
        cur,
        "SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a "
        "WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'",
    )
    if not public_creates:
        return False
    if not _one(
        cur, "SELECT pg_has_role(nspowner, 'USAGE') FROM pg_namespace WHERE nspname = 'public'"
    ):
        raise ReportingRoleError(
            "PUBLIC may CREATE in schema public here (Postgres before 15) and the role running "
            "this does not own that schema: run it as the owner, or run REVOKE CREATE ON "
            "SCHEMA public FROM PUBLIC as the owner first"
        )
    cur.execute(sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(me)))
    cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    return True
