"""`tradewind venue serve`: the paper venue that speaks OANDA's v20 REST API."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer

from tradewind.cli.context import CliError, one_line_errors, out, settings

app = typer.Typer(help="The paper venue (OANDA v20-compatible).", no_args_is_help=True)


def resolve_token(token: str | None, home: Path) -> tuple[str, str]:
    """The token and where it came from: ``--token``, ``TRADEWIND_VENUE_TOKEN``, the file
    named by ``TRADEWIND_VENUE_TOKEN_FILE``, else a token generated once and kept in
    ``<home>/venue-token`` (mode 0600)."""
    if token:
        return token, "--token"
    env = os.environ.get("TRADEWIND_VENUE_TOKEN")
    if env:
        return env.strip(), "TRADEWIND_VENUE_TOKEN"
    file = os.environ.get("TRADEWIND_VENUE_TOKEN_FILE")
    if file:
        try:
            text = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliError(f"TRADEWIND_VENUE_TOKEN_FILE={file}: {exc.strerror}") from None
        if not text:
            raise CliError(f"TRADEWIND_VENUE_TOKEN_FILE={file} is empty")
        return text, file
    path = home / "venue-token"
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), str(path)
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    value = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value, f"{path} (generated)"


def _accounts(engine: Any) -> list[str]:
    for name in ("account_ids", "accounts"):
        got = getattr(engine, name, None)
        if callable(got):
            got = got()
        if got:
            return [str(a) for a in got]
    return []


@app.command("serve")
@one_line_errors
def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8081,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    token: Annotated[
        str | None,
        typer.Option(
            help="Bearer token. Prefer TRADEWIND_VENUE_TOKEN or TRADEWIND_VENUE_TOKEN_FILE "
            "(a command line is visible to other local users); with none, one is generated "
            "and kept in TRADEWIND_HOME/venue-token."
        ),
    ] = None,
    clock: Annotated[str, typer.Option(help="real, fast or stepped.")] = "real",
    speed: Annotated[float, typer.Option(help="Simulated seconds per second (fast).")] = 60.0,
    start: Annotated[
        str | None, typer.Option(help="Start instant of a fast/stepped clock (RFC 3339).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the price paths.")] = 0,
    faults: Annotated[Path | None, typer.Option(help="Faults config (YAML or JSON).")] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="A `kind: venue` config: per-instrument financing rates and commission, and "
            "the accounts' guaranteed stop loss mode (configs/venue/paper.yaml)."
        ),
    ] = None,
) -> None:
    """Serve the paper venue (prices from the security master, else a seeded random walk)."""
    from tradewind.config import load_config
    from tradewind.config.venue import VenueConfig
    from tradewind.venue.costs import costs_from_config
    from tradewind.venue.faults import FaultConfigError, Faults
    from tradewind.venue.service import Venue, make_server, start_instant
    from tradewind.venue.wire import VenueError

    if clock not in ("real", "fast", "stepped"):
        raise CliError(f"--clock must be real, fast or stepped, not {clock!r}")
    s = settings()
    value, where = resolve_token(token, s.home)
    try:
        fault_set = Faults.from_file(faults) if faults else Faults()
    except (OSError, FaultConfigError, ValueError) as exc:
        raise CliError(f"{faults}: {exc}") from None
    try:
        start_ns = start_instant(start)
    except VenueError:
        raise CliError(f"--start {start!r} is not an RFC 3339 time") from None
    except ValueError as exc:  # a time outside the clock's bounds
        raise CliError(f"--start {start!r}: {exc}") from None
    terms = load_config(config, VenueConfig) if config is not None else VenueConfig(name="none")
    venue = Venue.build(
        token=value,
        database_url=s.resolved_database_url,
        clock=clock,  # type: ignore[arg-type]  # checked against the Literal above
        speed=speed,
        start_ns=start_ns,
        seed=seed,
        faults=fault_set,
        guaranteed_stop_loss_mode=terms.guaranteed_stop_loss_mode,
        costs=costs_from_config(terms),
    )
    out.print(f"venue on http://{host}:{port} (database {s.database_display}, clock {clock})")
    out.print(f"token: from {where}")
    for account in _accounts(venue.engine):
        out.print(f"account: {account}")
    venue.start_pump()
    try:
        make_server(venue, host, port, log_level="info").run()
    finally:
        venue.stop_pump()
