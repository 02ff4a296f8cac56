"""The `tradewind` command: the composition root, the only place adapters are built."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradewind.cli import config_cmd, data
from tradewind.cli.context import emit_json, engine, one_line_errors, out, settings
from tradewind.config import UniverseConfig, load_config
from tradewind.storage import catalog, migrate

DEFAULT_UNIVERSE = Path("configs/universe/fx_majors.yaml")

app = typer.Typer(
    name="tradewind",
    help="Tradewind: from raw market data to backtests, models and live P&L.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data.app, name="data")
app.add_typer(config_cmd.app, name="config")


@app.command("init")
@one_line_errors
def init(
    universe: Annotated[
        Path | None,
        typer.Option(help="Universe config [default: configs/universe/fx_majors.yaml]."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create or migrate the database and load the instrument universe."""
    cfg = load_universe(universe)
    eng = engine()
    before = migrate.current_revision(eng)
    migrate.upgrade(eng)
    with eng.begin() as conn:
        fp = catalog.store_config(conn, cfg)
        catalog.upsert_instruments(conn, [s.to_domain() for s in cfg.instruments])
    after = migrate.current_revision(eng)
    result = {
        "database": settings().database_display,
        "revision_before": before,
        "revision": after,
        "universe": cfg.name,
        "universe_fingerprint": fp,
        "instruments": len(cfg.instruments),
    }
    if as_json:
        emit_json(result)
    else:
        verb = "created" if before is None else ("migrated" if before != after else "up to date")
        out.print(
            f"database {result['database']} {verb} (revision {after}); "
            f"universe {cfg.name}: {len(cfg.instruments)} instruments"
        )


def load_universe(path: Path | None) -> UniverseConfig:
    if path is not None:
        return load_config(path, UniverseConfig)
    if DEFAULT_UNIVERSE.exists():
        return load_config(DEFAULT_UNIVERSE, UniverseConfig)
    from tradewind.cli.demo import BUILTIN_UNIVERSE

    return BUILTIN_UNIVERSE


@app.command("demo")
@one_line_errors
def demo(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Run the whole pipeline on the embedded default: no servers, no network."""
    from tradewind.cli.demo import run_demo

    run_demo(as_json)


def main() -> None:
    app()
