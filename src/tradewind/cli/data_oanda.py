"""`tradewind data ingest oanda ...`: OANDA candles into the security master."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from tradewind.cli.context import (
    CliError,
    JsonOpt,
    emit_json,
    one_line_errors,
    out,
    ready_engine,
    working,
)
from tradewind.domain import Timeframe

ingest_app = typer.Typer(help="Ingest bars from a data vendor.", no_args_is_help=True)


def _when(text: str, flag: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"{flag}: expected a date or an ISO time, got {text!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


@ingest_app.command("oanda")
@one_line_errors
def oanda(
    instrument: Annotated[str, typer.Option(help="Symbol, e.g. EUR_USD.")],
    granularity: Annotated[str, typer.Option(help="S5 ... M1 ... H1 ... D.")],
    start: Annotated[str, typer.Option("--from", help="First bar time (UTC), e.g. 2024-01-01.")],
    end: Annotated[
        str | None, typer.Option("--to", help="End, exclusive (UTC); default: now.")
    ] = None,
    environment: Annotated[
        str,
        typer.Option(
            help="practice, live, or a registered name (OANDA_API_URL registers a new one)."
        ),
    ] = "practice",
    allow_live: Annotated[
        bool, typer.Option("--allow-live", help="Needed to use the live environment.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Complete mid/bid/ask candles from OANDA (token from OANDA_TOKEN or OANDA_TOKEN_FILE);
    resumes after the last stored bar, so re-runs add nothing."""
    from tradewind.broker.errors import BrokerError
    from tradewind.broker.oanda import OandaBroker
    from tradewind.cli.data import report_table
    from tradewind.pipelines.oanda_ingest import ingest_oanda, vendor_for

    try:
        timeframe = Timeframe.parse(granularity)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    first = _when(start, "--from")
    last = _when(end, "--to") if end else datetime.now(UTC)
    engine = ready_engine()
    try:
        with (
            OandaBroker.from_env(environment, allow_live=allow_live) as broker,
            working(f"ingesting {instrument} {timeframe} from OANDA", as_json),
        ):
            reports = ingest_oanda(
                engine, broker, instrument.upper(), timeframe, first, last, environment=environment
            )
    except BrokerError as exc:
        raise CliError(f"oanda: {exc}") from None
    if as_json:
        emit_json({"vendor": vendor_for(environment), "batches": [r.to_json() for r in reports]})
        return
    out.print(report_table(reports))
    if any(r.quarantined for r in reports):
        out.print("see the rejected rows: tradewind data quarantine")
