"""`tradewind backtest ...`, `tradewind runs ...` and `tradewind report`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tradewind.cli.context import (
    CliError,
    emit_json,
    err,
    one_line_errors,
    out,
    ready_engine,
    registry,
    working,
)
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
    from tradewind.backtest.trades import count_trades

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
            str(count_trades(r.trades)),
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
    allow_other_instrument: Annotated[
        bool,
        typer.Option(
            "--allow-other-instrument",
            help="Run a model on an instrument it was not trained on (recorded on the run).",
        ),
    ] = False,
    allow_other_side: Annotated[
        bool,
        typer.Option(
            "--allow-other-side",
            help="Run a model on a price side it was not trained on (recorded on the run).",
        ),
    ] = False,
) -> None:
    """Backtest every strategy of the config on bars from the security master; store it all."""
    from tradewind.backtest.bt_engine import load_strategy  # noqa: F401  (fail fast on import)
    from tradewind.pipelines.backtest import Overrides, run_backtest
    from tradewind.pipelines.models import describe_marks

    cfg = load_config(config, BacktestConfig)
    overrides = Overrides(allow_other_instrument, allow_other_side)
    with working(f"backtesting {cfg.name}", as_json):
        result = run_backtest(ready_engine(), cfg, tracking=registry(), overrides=overrides)
    if as_json:
        emit_json(result.to_json())
        return
    out.print(backtest_table(result))
    if result.marks:
        out.print(f"[yellow]marks:[/] {describe_marks(result.marks)}", highlight=False)
    out.print(f"report: tradewind report {result.run_id} --out report.html")


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr (none in --json mode or when stderr is not a terminal)."""
    if quiet or not err.is_terminal:
        yield None
        return
    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@app.command("sweep")
@one_line_errors
def sweep_cmd(
    config: Annotated[Path, typer.Option(help="A `kind: backtest` config (first strategy).")],
    grid: Annotated[str, typer.Option(help="e.g. 'fast=5:50:5,slow=20:200:10' (stop included).")],
    target: Annotated[
        str, typer.Option(help="sharpe, total_return, calmar or module:function.")
    ] = "sharpe",
    random: Annotated[
        int | None, typer.Option("--random", min=1, help="Score N random grid points.")
    ] = None,
    top: Annotated[int, typer.Option(min=0, help="Re-run the best N on Backtrader.")] = 3,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes (all cores).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of --random.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Grid or random search on the vectorised engine; the best re-run on Backtrader, stored."""
    from tradewind.pipelines.sweep import sweep

    cfg = load_config(config, BacktestConfig)
    with _progress("sweeping", as_json) as progress:
        report = sweep(ready_engine(), cfg, grid, random, target, top, seed, workers, progress)
    if as_json:
        emit_json(report.to_json())
        return
    t = Table("rank", "params", report.target, "total_return", "max_drawdown", "trades")
    for i, p in enumerate(report.points[:20], start=1):
        params = " ".join(f"{k}={v}" for k, v in p.params.items())
        m = p.metrics
        t.add_row(
            str(i),
            params,
            fmt(p.score),
            fmt(m.get("total_return")),
            fmt(m.get("max_drawdown")),
            str(int(m["trades"])),
        )
    out.print(t)
    out.print(f"{len(report.points)} points scored, {report.skipped} skipped (fast >= slow)")
    for r in report.rerun:
        params = " ".join(f"{k}={v}" for k, v in r.params.items())
        out.print(
            f"backtrader run {r.run_id}: {params} total_return {fmt(r.metrics['total_return'])}"
        )


@app.command("walkforward")
@one_line_errors
def walkforward_cmd(
    config: Annotated[Path, typer.Option(help="A `kind: backtest` config (first strategy).")],
    grid: Annotated[str, typer.Option(help="e.g. 'fast=5:50:5,slow=20:200:10' (stop included).")],
    train_bars: Annotated[int, typer.Option(min=2, help="Bars in each train window.")],
    test_bars: Annotated[int, typer.Option(min=2, help="Bars in each test window.")],
    target: Annotated[
        str, typer.Option(help="sharpe, total_return, calmar or module:function.")
    ] = "sharpe",
    mode: Annotated[str, typer.Option(help="rolling or expanding train windows.")] = "rolling",
    workers: Annotated[int | None, typer.Option(min=1, help="Processes (all cores).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Walk-forward: pick on each train window, trade the next test window; OOS results only."""
    from tradewind.pipelines.sweep import walkforward

    cfg = load_config(config, BacktestConfig)
    if mode not in ("rolling", "expanding"):
        raise CliError(f"--mode {mode!r}: choose rolling or expanding")
    with _progress("folds", as_json) as progress:
        report = walkforward(
            ready_engine(),
            cfg,
            grid,
            target,
            train_bars,
            test_bars,
            mode,  # type: ignore[arg-type]  # checked against the Literal above
            max_workers=workers,
            progress=progress,
        )
    if as_json:
        emit_json(report.to_json())
        return
    t = Table("fold", "test from", "test to", "params", f"train {report.target}", "oos return")
    for f in report.folds:
        j = f.to_json()
        t.add_row(
            str(f.index),
            j["test_period"][0][:16],
            j["test_period"][1][:16],
            " ".join(f"{k}={v}" for k, v in f.params.items()),
            fmt(f.train_score),
            fmt(f.metrics["total_return"]),
        )
    out.print(t)
    m = report.oos_metrics
    out.print(
        "out-of-sample: "
        + ", ".join(f"{k} {fmt(m.get(k))}" for k in ("total_return", "sharpe", "max_drawdown"))
    )


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
                        "marks": r.marks or {},
                    }
                    for r in rows
                ]
            }
        )
        return
    from tradewind.pipelines.models import mark_tags

    t = Table("run", "kind", "name", "status", "config", "started", "marks")
    for r in rows:
        t.add_row(
            r.id,
            r.kind,
            r.name,
            r.status,
            r.config_fingerprint[:12],
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            mark_tags(r.marks),
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
