"""`tradewind db ...`: the database itself; `reporting-role` sets up the read-only role
dashboards connect as (Postgres)."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from tradewind.cli.context import (
    CliError,
    JsonOpt,
    emit_json,
    engine,
    one_line_errors,
    out,
    ready_engine,
)
from tradewind.storage.reporting_role import (
    DEFAULT_ROLE,
    ReportingRoleError,
    ensure_reporting_role,
)

app = typer.Typer(help="The database: roles for reading it.", no_args_is_help=True)

PASSWORD_ENV = "TRADEWIND_REPORTING_PASSWORD"


def read_password(env: str, file: Path | None) -> tuple[str, str]:
    """The password and where it came from: ``file`` when given, else variable ``env``.
    One trailing newline of a file is not part of it."""
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"--password-file {file}: {exc.strerror}") from None
        password, source = text.removesuffix("\n").removesuffix("\r"), str(file)
    else:
        password, source = os.environ.get(env, ""), env
    if not password:
        raise CliError(
            f"no password for the reporting role: {source} is empty or unset "
            f"(set {env} or pass --password-file)"
        )
    return password, source


@app.command("reporting-role")
@one_line_errors
def reporting_role(
    role: Annotated[str, typer.Option(help="The role's name.")] = DEFAULT_ROLE,
    password_env: Annotated[
        str, typer.Option(help="The environment variable holding the role's password.")
    ] = PASSWORD_ENV,
    password_file: Annotated[
        Path | None,
        typer.Option(help="A file holding the role's password (instead of the variable)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create or update a LOGIN role that can read the reporting views and nothing else
    (Postgres; idempotent). The password never goes on the command line."""
    if engine().dialect.name != "postgresql":
        raise CliError(
            "the reporting role needs Postgres: SQLite has no roles (whoever can read the "
            "database file can read its reporting_* views)"
        )
    password, source = read_password(password_env, password_file)
    try:
        report = ensure_reporting_role(ready_engine(), role, password)
    except ReportingRoleError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        emit_json({**asdict(report), "password_from": source})
        return
    verb = "created" if report.created else "updated"
    out.print(
        f"role {report.role} {verb} on database {report.database}: it can read "
        f"{report.views} reporting views and nothing else (password from {source})",
        highlight=False,
    )
    if report.revoked_public_create:
        out.print(
            "CREATE on schema public was revoked from PUBLIC (as Postgres 15 does by "
            "default); the role that ran this keeps it",
            highlight=False,
        )
