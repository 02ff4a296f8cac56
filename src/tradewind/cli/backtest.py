"""`tradewind backtest ...` (run, sweep, walk-forward) and `tradewind report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tradewind.cli.context import (
    CliError,
    JsonOpt,
    emit_json,
    one_line_errors,
    out,
    ready_engine,
    registry,
    settings,
    working,
)
from tradewind.cli.numbers import fmt_metric
from tradewind.cli.progress import task
from tradewind.cli.runs import HEADLINE, remember_report
from tradewind.config import load_config
from tradewind.config.backtest import BacktestConfig
from tradewind.storage import runs as run_store
from tradewind.storage.runs import short_id

app = typer.Typer(help="Backtests on Backtrader from a run config.", no_args_is_help=True)


def backtest_table(result: Any) -> Table:
    """One row per strategy result of a BacktestRun: trades and the headline metrics."""

    t = Table(
        "strategy",
        "trades",
        *HEADLINE[:-3],
        "win rate",
        "profit factor",
        title=f"backtest run {short_id(result.run_id)}",
    )
    for r in result.results:
        m = r.metrics
        t.add_row(
            r.strategy,
            fmt_metric("trades", m.get("trades")),
            *(fmt_metric(k, m.get(k)) for k in HEADLINE[:-3]),
            fmt_metric("win_rate", m.get("win_rate")),
            fmt_metric("profit_factor", m.get("profit_factor")),
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
    with task(f"backtesting {cfg.name}", len(cfg.strategies), quiet=as_json) as progress:
        result = run_backtest(
            ready_engine(), cfg, tracking=registry(), overrides=overrides, progress=progress
        )
    if as_json:
        emit_json(result.to_json())
        return
    out.print(backtest_table(result))
    if result.marks:
        out.print(f"[yellow]marks:[/] {describe_marks(result.marks)}", highlight=False)
    out.print(f"report: tradewind report {short_id(result.run_id)}", highlight=False)


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
    with task(f"sweeping {cfg.name}", quiet=as_json) as progress:
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
            fmt_metric(report.target, p.score),
            fmt_metric("total_return", m.get("total_return")),
            fmt_metric("max_drawdown", m.get("max_drawdown")),
            fmt_metric("trades", m["trades"]),
        )
    out.print(t)
    out.print(f"{len(report.points)} points scored, {report.skipped} skipped (fast >= slow)")
    for r in report.rerun:
        params = " ".join(f"{k}={v}" for k, v in r.params.items())
        out.print(
            f"backtrader run {short_id(r.run_id)}: {params} total_return "
            f"{fmt_metric('total_return', r.metrics['total_return'])}"
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
    with task(f"walk-forward folds of {cfg.name}", quiet=as_json) as progress:
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
            fmt_metric(report.target, f.train_score),
            fmt_metric("total_return", f.metrics["total_return"]),
        )
    out.print(t)
    m = report.oos_metrics
    out.print(
        "out-of-sample: "
        + ", ".join(
            f"{k} {fmt_metric(k, m.get(k))}" for k in ("total_return", "sharpe", "max_drawdown")
        )
    )


def report(
    run: Annotated[
        str, typer.Argument(metavar="RUN", help="A backtest run id or a unique prefix of one.")
    ],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out", help="The HTML file to write (default: TRADEWIND_HOME/reports/RUN.html)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a self-contained HTML tear sheet of a stored backtest run."""
    from tradewind.pipelines.report import write_report

    engine = ready_engine()
    with engine.connect() as conn:
        run_id = run_store.resolve_run(conn, run).id
    path = out_file or settings().home / "reports" / f"{short_id(run_id)}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    with working(f"rendering {path}", as_json):
        write_report(engine, run_id, path)
    remember_report(run_id, path)
    if as_json:
        emit_json({"run_id": run_id, "path": str(path.resolve())})
        return
    out.print(f"wrote {path} (run {short_id(run_id)})", highlight=False)


report = one_line_errors(report)
