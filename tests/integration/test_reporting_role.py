"""The read-only reporting role on a real Postgres (SQLite has no roles): it reads every
reporting view and nothing else, a second run changes nothing, it survives the views being
re-created, and the CLI takes its password from the environment without ever showing it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from tradewind.cli import context
from tradewind.cli.app import app
from tradewind.storage import migrate
from tradewind.storage.engine import make_engine
from tradewind.storage.reporting import VIEWS
from tradewind.storage.reporting_role import ReportingRoleError, ensure_reporting_role
from tradewind.storage.schema import Base

PASSWORD = "c0rrect horse'; DROP ROLE x; -- %s $$"


@pytest.fixture
def pg(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def role(pg: Engine) -> Iterator[str]:
    """A role name of this test's own (roles are shared by the whole server)."""
    name = f"tw_reporting_{uuid.uuid4().hex[:10]}"
    yield name
    with pg.begin() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}):
            conn.execute(text(f'DROP OWNED BY "{name}"'))
            conn.execute(text(f'DROP ROLE "{name}"'))


@pytest.fixture
def as_role(pg: Engine, role: str) -> Iterator[Any]:
    """``as_role()``: an engine logged in as the role (the test server trusts loopback)."""
    made: list[Engine] = []

    def connect() -> Engine:
        url = make_url(pg.url).set(username=role, password=PASSWORD)
        made.append(make_engine(url.render_as_string(hide_password=False)))
        return made[-1]

    yield connect
    for engine in made:
        engine.dispose()


def _denied(engine: Engine, statement: str) -> bool:
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    except ProgrammingError as exc:
        return "permission denied" in str(exc.orig)
    return False


def _reads_every_view(engine: Engine) -> None:
    with engine.connect() as conn:
        for view, columns in VIEWS.items():
            got = conn.execute(text(f"SELECT * FROM reporting.{view}"))
            assert tuple(got.keys()) == columns


def test_the_role_reads_every_view_and_nothing_else(pg: Engine, role: str, as_role: Any) -> None:
    report = ensure_reporting_role(pg, role, PASSWORD)
    assert (report.role, report.created, report.views) == (role, True, len(VIEWS))
    reader = as_role()
    _reads_every_view(reader)
    for table in [*Base.metadata.tables, "alembic_version"]:
        assert _denied(reader, f"SELECT 1 FROM public.{table} LIMIT 1"), table
    for statement in (
        "INSERT INTO oms_orders (client_id) VALUES ('x')",
        "UPDATE runs SET status = 'x'",
        "DELETE FROM risk_kill_switch",
        "DELETE FROM reporting.orders",
        "UPDATE reporting.trading_state SET state = 'active'",
        "CREATE TABLE public.mine (x int)",
        "CREATE TABLE reporting.mine (x int)",
        "CREATE VIEW reporting.mine AS SELECT 1 AS x",
        "CREATE SCHEMA mine",
        "DROP VIEW reporting.orders",
    ):
        assert _denied(reader, statement) or "must be owner" in _error(reader, statement), statement
    with pg.connect() as conn:
        attrs = conn.execute(
            text(
                "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, "
                "rolbypassrls FROM pg_roles WHERE rolname = :r"
            ),
            {"r": role},
        ).one()
    assert tuple(attrs) == (True, False, False, False, False, False)


def _error(engine: Engine, statement: str) -> str:
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    except ProgrammingError as exc:
        return str(exc.orig)
    return ""


def _privileges(pg: Engine, role: str) -> list[Any]:
    """Everything granted to ``role`` in this database and its attributes."""
    query = """
    SELECT 'class', c.relnamespace::regnamespace::text || '.' || c.relname, a.privilege_type
    FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = CAST(:r AS regrole)
    UNION ALL
    SELECT 'schema', n.nspname, a.privilege_type
    FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee = CAST(:r AS regrole)
    UNION ALL
    SELECT 'database', d.datname, a.privilege_type
    FROM pg_database d, aclexplode(d.datacl) a
    WHERE a.grantee = CAST(:r AS regrole) AND d.datname = current_database()
    UNION ALL
    SELECT 'default', d.defaclnamespace::regnamespace::text, a.privilege_type
    FROM pg_default_acl d, aclexplode(d.defaclacl) a WHERE a.grantee = CAST(:r AS regrole)
    UNION ALL
    SELECT 'attrs', r.rolcanlogin::text || r.rolsuper::text || r.rolinherit::text, ''
    FROM pg_roles r WHERE r.oid = CAST(:r AS regrole)
    ORDER BY 1, 2, 3
    """
    with pg.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query), {"r": role})]


def test_running_it_twice_is_the_same_as_once(pg: Engine, role: str, as_role: Any) -> None:
    ensure_reporting_role(pg, role, PASSWORD)
    once = _privileges(pg, role)
    again = ensure_reporting_role(pg, role, PASSWORD)
    assert again.created is False
    assert _privileges(pg, role) == once
    assert ("schema", "reporting", "USAGE") in once
    assert ("default", "reporting", "SELECT") in once
    assert {p for p in once if p[0] == "schema"} == {("schema", "reporting", "USAGE")}
    assert {p[1] for p in once if p[0] == "class"} == {f"reporting.{v}" for v in VIEWS}
    _reads_every_view(as_role())


def test_an_existing_role_is_brought_back_to_read_only(pg: Engine, role: str) -> None:
    with pg.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN CREATEDB'))
        conn.execute(text(f'GRANT SELECT, INSERT ON oms_orders TO "{role}"'))
        conn.execute(text(f'GRANT CREATE ON SCHEMA reporting TO "{role}"'))
    report = ensure_reporting_role(pg, role, PASSWORD)
    assert report.created is False
    privileges = _privileges(pg, role)
    assert not [p for p in privileges if p[1] == "public.oms_orders"]
    assert ("schema", "reporting", "CREATE") not in privileges
    with pg.connect() as conn:
        assert (
            conn.scalar(text("SELECT rolcreatedb FROM pg_roles WHERE rolname = :r"), {"r": role})
            is False
        )


def test_the_role_reads_the_views_after_they_are_recreated(
    pg: Engine, role: str, as_role: Any
) -> None:
    ensure_reporting_role(pg, role, PASSWORD)
    migrate.downgrade(pg, "0006_platform_jobs")
    with pg.connect() as conn:  # the schema stays while a role holds rights on it
        assert (
            conn.scalar(text("SELECT count(*) FROM pg_views WHERE schemaname = 'reporting'")) == 0
        )
        assert conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = 'reporting'")) == 1
    migrate.upgrade(pg)
    _reads_every_view(as_role())


def test_the_migration_regrants_without_default_privileges(
    pg: Engine, role: str, as_role: Any
) -> None:
    ensure_reporting_role(pg, role, PASSWORD)
    with pg.begin() as conn:
        owner = conn.scalar(
            text("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'reporting'")
        )
        conn.execute(
            text(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA reporting "
                f'REVOKE SELECT ON TABLES FROM "{role}"'
            )
        )
    assert ("default", "reporting", "SELECT") not in _privileges(pg, role)
    migrate.downgrade(pg, "0006_platform_jobs")
    migrate.upgrade(pg)
    _reads_every_view(as_role())


def test_create_on_public_is_revoked_where_postgres_grants_it(
    pg: Engine, role: str, as_role: Any
) -> None:
    with pg.begin() as conn:  # what Postgres before 15 grants by default
        conn.execute(text("GRANT CREATE ON SCHEMA public TO PUBLIC"))
    report = ensure_reporting_role(pg, role, PASSWORD)
    assert report.revoked_public_create is True
    assert _denied(as_role(), "CREATE TABLE public.mine (x int)")
    with pg.begin() as conn:  # the role that ran it keeps CREATE there
        conn.execute(text("CREATE TABLE public.still_mine (x int)"))
    assert ensure_reporting_role(pg, role, PASSWORD).revoked_public_create is False


def _scram_matches(verifier: str, password: str) -> bool:
    """Whether a SCRAM-SHA-256 verifier (pg_authid.rolpassword) is ``password``'s."""
    method, rest = verifier.split("$", 1)
    params, keys = rest.split("$")
    iterations, salt = params.split(":")
    stored_key, _server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return method == "SCRAM-SHA-256" and hashlib.sha256(client_key).digest() == base64.b64decode(
        stored_key
    )


def _verifier(pg: Engine, role: str) -> str:
    with pg.connect() as conn:
        return str(
            conn.scalar(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role})
        )


@pytest.fixture
def cli_env(pg: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TRADEWIND_DATABASE_URL", pg.url.render_as_string(hide_password=False))
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def test_the_cli_takes_the_password_from_the_environment(
    pg: Engine,
    role: str,
    as_role: Any,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TRADEWIND_REPORTING_PASSWORD", PASSWORD)
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    first = runner.invoke(app, ["db", "reporting-role", "--role", role])
    second = runner.invoke(app, ["db", "reporting-role", "--role", role, "--json"])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert f"role {role} created" in first.output
    assert '"created": false' in second.output
    assert f'"views": {len(VIEWS)}' in second.output
    for shown in (first.output, second.output, caplog.text):
        assert PASSWORD not in shown
    assert _scram_matches(_verifier(pg, role), PASSWORD)
    _reads_every_view(as_role())


def test_the_cli_reads_a_password_file(pg: Engine, role: str, cli_env: None, tmp_path: Any) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from a file\n", encoding="utf-8")
    got = CliRunner().invoke(
        app, ["db", "reporting-role", "--role", role, "--password-file", str(secret)]
    )
    assert got.exit_code == 0, got.output
    assert "from a file" not in got.output
    assert _scram_matches(_verifier(pg, role), "from a file")


def test_the_cli_refuses_without_a_password(
    role: str, cli_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRADEWIND_REPORTING_PASSWORD", raising=False)
    got = CliRunner().invoke(app, ["db", "reporting-role", "--role", role])
    assert got.exit_code == 1
    assert "TRADEWIND_REPORTING_PASSWORD is empty or unset" in got.output


def test_the_cli_refuses_sqlite(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEWIND_DATABASE_URL", f"sqlite:///{tmp_path}/tw.db")
    monkeypatch.setenv("TRADEWIND_REPORTING_PASSWORD", PASSWORD)
    context.settings.cache_clear()
    context.engine.cache_clear()
    try:
        got = CliRunner().invoke(app, ["db", "reporting-role"])
    finally:
        context.settings.cache_clear()
        context.engine.cache_clear()
    assert got.exit_code == 1
    assert "needs Postgres" in got.output
    with pytest.raises(ReportingRoleError, match="needs Postgres"):
        ensure_reporting_role(make_engine(f"sqlite:///{tmp_path}/x.db"), "r", PASSWORD)


def test_it_refuses_to_touch_the_role_running_it(pg: Engine) -> None:
    with pg.connect() as conn:
        me = conn.scalar(text("SELECT current_user"))
    with pytest.raises(ReportingRoleError, match="refusing"):
        ensure_reporting_role(pg, me, PASSWORD)
