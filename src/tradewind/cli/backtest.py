"""`tradewind backtest ...`, `tradewind runs ...` and `tradewind report`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tradewind.cli.context import CliError, emit_json, one_line_errors, out, ready_engine, working
from tradewind.config import load_config
from tradewind.config.backtest import BacktestConfig
from tradewind.storage import runs as run_store

app = typer.Typer(help="Backtests on Backtrader from a run config.", no_args_is_help=True)
runs_app = typer.Typer(help="Stored runs: list and compare.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
HEADLINE = (
    "total_return",
    "annual_return",
    "sharpe",
    "sortino",
    "max_drawdown",
    "trades",
    "win_rate",
    "profit_factor",
)


def fmt(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if isinstance(value, float):
        return f"{value:,.4f}"
    return f"{value:,}"


def backtest_table(result: Any) -> Table:
    """One row per strategy result of a BacktestRun: trades and the headline metrics."""
    t = Table(
        "strategy",
        "trades",
        *HEADLINE[:-3],
        "win rate",
        "profit factor",
        title=f"backtest run {result.run_id}",
    )
    for r in result.results:
        m = r.metrics
        t.add_row(
            r.strategy,
            str(len(r.trades)),
            *(fmt(m.get(k)) for k in HEADLINE[:-3]),
            fmt(m.get("win_rate")),
            fmt(m.get("profit_factor")),
        )
    return t


@app.command("run")
@one_line_errors
def run(
    config: Annotated[Path, typer.Option(help="A `kind: backtest` config.")],
    as_json: JsonOpt = False,
) -> None:
    """Backtest every strategy of the config on bars from the security master; store it all."""
    from tradewind.backtest.bt_engine import load_strategy  # noqa: F401  (fail fast on import)
    from tradewind.pipelines.backtest import run_backtest

    cfg = load_config(config, BacktestConfig)
    with working(f"backtesting {cfg.name}", as_json):
        result = run_backtest(ready_engine(), cfg)
    if as_json:
        emit_json(result.to_json())
        return
    out.print(backtest_table(result))
    out.print(f"report: tradewind report {result.run_id} --out report.html")


@runs_app.command("ls")
@one_line_errors
def ls(
    kind: Annotated[str | None, typer.Option(help="Only runs of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Runs, newest first."""
    with ready_engine().connect() as conn:
        rows = run_store.list_runs(conn, kind, limit)
    if as_json:
        emit_json(
            {
                "runs": [
                    {
                        "id": r.id,
                        "kind": r.kind,
                        "name": r.name,
                        "status": r.status,
                        "config_fingerprint": r.config_fingerprint,
                        "code_version": r.code_version,
                        "started_at": r.started_at,
                        "finished_at": r.finished_at,
                    }
                    for r in rows
                ]
            }
        )
        return
    t = Table("run", "kind", "name", "status", "config", "started")
    for r in rows:
        t.add_row(
            r.id,
            r.kind,
            r.name,
            r.status,
            r.config_fingerprint[:12],
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
        )
    out.print(t if rows else "no runs yet")


@runs_app.command("compare")
@one_line_errors
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    as_json: JsonOpt = False,
) -> None:
    """Backtest runs side by side: one column per strategy result."""
    from tradewind.storage.backtests import load_results

    columns: list[tuple[str, dict[str, float]]] = []
    with ready_engine().connect() as conn:
        for rid in run_ids:
            if run_store.get_run(conn, rid) is None:
                raise CliError(f"no run {rid}")
            for r in load_results(conn, rid):
                columns.append((f"{rid[:8]} {r.strategy}", r.metrics))
    if as_json:
        emit_json(
            {
                "columns": [
                    {
                        "name": n,
                        "metrics": {
                            k: fmt(v) if not isinstance(v, float) or not math.isfinite(v) else v
                            for k, v in m.items()
                        },
                    }
                    for n, m in columns
                ]
            }
        )
        return
    keys = list(dict.fromkeys(k for _, m in columns for k in m))
    t = Table("metric", *(n for n, _ in columns))
    for k in keys:
        t.add_row(k, *(fmt(m.get(k)) for _, m in columns))
    out.print(t)


def report(
    run_id: Annotated[str, typer.Argument(help="A backtest run id.")],
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
) -> None:
    """Write a self-contained HTML tear sheet of a stored backtest run."""
    from tradewind.pipelines.report import write_report

    with working(f"rendering {out_file}", False):
        write_report(ready_engine(), run_id, out_file)
    out.print(f"wrote {out_file}")


report = one_line_errors(report)
