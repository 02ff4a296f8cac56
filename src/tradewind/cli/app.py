"""The `tradewind` command: the composition root, the only place adapters are built."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from tradewind.cli import (
    backtest,
    config_cmd,
    data,
    db,
    instruments,
    live,
    models,
    runs,
    train,
    venue,
)
from tradewind.cli.context import JsonOpt, emit_json, engine, one_line_errors, out, settings
from tradewind.cli.helptext import tidy_help
from tradewind.cli.usage import OneLineUsageGroup
from tradewind.pipelines.setup import initialise, load_universe

app = typer.Typer(
    name="tradewind",
    cls=OneLineUsageGroup,
    help="Tradewind: from raw market data to backtests, models and live P&L.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from tradewind.storage.runs import code_version

        out.print(f"tradewind {code_version()}", highlight=False)
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Print the version and exit."
        ),
    ] = False,
    progress: Annotated[
        str | None,
        typer.Option(
            help="Progress of long steps on stderr: auto (a bar on a terminal, else a plain "
            "line every few seconds), bar, plain or off (default: TRADEWIND_PROGRESS, else auto)."
        ),
    ] = None,
) -> None:
    """Tradewind: from raw market data to backtests, models and live P&L."""
    if progress is not None:
        from tradewind.cli.progress import MODES

        if progress not in MODES:
            raise typer.BadParameter(
                f"{progress!r} is not one of {', '.join(MODES)}", param_hint="--progress"
            )
        os.environ["TRADEWIND_PROGRESS"] = progress


app.add_typer(data.app, name="data")
app.add_typer(config_cmd.app, name="config")
app.add_typer(instruments.app, name="instruments")
app.add_typer(backtest.app, name="backtest")
app.add_typer(runs.app, name="runs")
app.command("report")(backtest.report)
app.command("train")(train.train)
app.add_typer(models.app, name="models")
app.add_typer(venue.app, name="venue")
app.add_typer(live.app, name="live")
app.add_typer(db.app, name="db")


@app.command("init")
@one_line_errors
def init(
    universe: Annotated[
        Path | None,
        typer.Option(help="Universe config (default: configs/universe/fx_majors.yaml)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create or migrate the database and load the instrument universe."""
    r = initialise(engine(), load_universe(universe))
    result = {"database": settings().database_display, **asdict(r)}
    if as_json:
        emit_json(result)
        return
    verb = (
        "created"
        if r.revision_before is None
        else ("migrated" if r.revision_before != r.revision else "up to date")
    )
    out.print(
        f"database {result['database']} {verb} (revision {r.revision}); "
        f"universe {r.universe}: {r.instruments} instruments"
    )


@app.command("demo")
@one_line_errors
def demo(
    as_json: JsonOpt = False,
    timesteps: Annotated[
        int | None,
        typer.Option(min=1, help="Train the demo's RL model for this many steps (a quick run)."),
    ] = None,
) -> None:
    """Run the whole pipeline on the embedded default: no servers, no network."""
    from tradewind.cli.demo import run_demo

    run_demo(as_json, timesteps)


def main() -> None:
    tidy_help(typer.main.get_command(app))(prog_name="tradewind")
