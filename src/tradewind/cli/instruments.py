"""`tradewind instruments ...`: add an instrument of any asset class; list the security master."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from tradewind.cli.context import CliError, emit_json, one_line_errors, out, ready_engine
from tradewind.config import ConfigError, InstrumentSpec, UniverseConfig
from tradewind.domain import AssetClass, Instrument, TradingCalendar
from tradewind.pipelines.setup import push_universe
from tradewind.storage import catalog

app = typer.Typer(
    help="Instruments of the security master: FX, metals, CFDs, indices, equities, crypto.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
CALENDARS = ", ".join(c.value for c in TradingCalendar)


def _plain(x: float) -> str:
    """0.00001, not 1e-05."""
    return f"{x:.10f}".rstrip("0").rstrip(".")


def as_json(ins: Instrument) -> dict[str, object]:
    return {
        "symbol": ins.id.symbol,
        "asset_class": ins.asset_class.value,
        "currency": ins.currency,
        "tick_size": ins.tick,
        "display_precision": ins.display_precision,
        "pip_location": ins.pip_location,
        "trade_units_precision": ins.trade_units_precision,
        "min_trade_size": ins.min_trade_size,
        "calendar": ins.calendar.value,
    }


@app.command("add")
@one_line_errors
def add(
    symbol: Annotated[str, typer.Argument(help="BASE_QUOTE, e.g. AAPL_USD, SPX500_USD, BTC_USD.")],
    asset_class: Annotated[AssetClass, typer.Option(help="What the instrument is.")] = (
        AssetClass.FX
    ),
    tick_size: Annotated[float | None, typer.Option(help="Smallest price step, e.g. 0.01.")] = None,
    display_precision: Annotated[
        int | None, typer.Option(help="Price decimals (default: those of --tick-size).")
    ] = None,
    pip_location: Annotated[
        int | None, typer.Option(help="The pip is 10**N (default: the tick's exponent).")
    ] = None,
    units_precision: Annotated[
        int, typer.Option(help="Decimals of a unit count (0: whole shares; 8 for BTC).")
    ] = 0,
    min_trade_size: Annotated[float, typer.Option(help="Smallest order, in units.")] = 1.0,
    calendar: Annotated[
        str | None,
        typer.Option(help=f"Trading calendar: {CALENDARS} (default: by asset class)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add (or update) one instrument; the currency is the quote part of SYMBOL."""
    if tick_size is None and display_precision is None:
        raise CliError(
            f"{symbol}: give --tick-size, the smallest price step (e.g. --tick-size 0.01)"
        )
    try:
        spec = InstrumentSpec.model_validate(
            {
                "symbol": symbol,
                "asset_class": asset_class,
                "tick_size": tick_size,
                "display_precision": display_precision,
                "pip_location": pip_location,
                "trade_units_precision": units_precision,
                "min_trade_size": min_trade_size,
                "calendar": calendar,
            }
        )
    except ValidationError as exc:
        raise ConfigError.from_validation("instrument options", exc) from None
    push_universe(ready_engine(), UniverseConfig(name=f"add {symbol}", instruments=(spec,)))
    ins = spec.to_domain()
    if json_out:
        emit_json(as_json(ins))
        return
    out.print(
        f"{ins.id} ({ins.asset_class.value}, {ins.currency}): tick {_plain(ins.tick)}, "
        f"units to {ins.trade_units_precision} decimals, calendar {ins.calendar.value}"
    )


@app.command("ls")
@one_line_errors
def ls(json_out: JsonOpt = False) -> None:
    """Every instrument with its currency, tick size, unit precision and calendar."""
    with ready_engine().connect() as conn:
        rows = catalog.list_instruments(conn)
    if json_out:
        emit_json({"instruments": [as_json(i) for i in rows]})
        return
    t = Table("symbol", "class", "currency", "tick", "units dp", "min size", "calendar")
    for i in rows:
        t.add_row(
            i.id.symbol,
            i.asset_class.value,
            i.currency,
            _plain(i.tick),
            str(i.trade_units_precision),
            f"{i.min_trade_size:g}",
            i.calendar.value,
        )
    out.print(t if rows else "no instruments yet: run `tradewind init`")
