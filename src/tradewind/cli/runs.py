"""`tradewind runs ...`: stored runs (list, show, compare) and where their reports were written.

Every command that takes a run id accepts any unique prefix of it (``runs ls`` shows
``SHORT_ID`` digits); the lookup is :func:`tradewind.storage.runs.resolve_run`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from tradewind.cli.context import JsonOpt, emit_json, one_line_errors, out, ready_engine, settings
from tradewind.cli.numbers import fmt_metric
from tradewind.storage import catalog
from tradewind.storage import runs as run_store

app = typer.Typer(help="Stored runs: list, show and compare.", no_args_is_help=True)

RunArg = Annotated[str, typer.Argument(metavar="RUN", help="A run id or a unique prefix of one.")]
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


def _index_file() -> Path:
    return settings().home / "reports.json"


def remember_report(run_id: str, path: Path) -> None:
    """Note where a run's tear sheet was written (``runs show`` says it)."""
    index = _index_file()
    known = _reports()
    known[run_id] = str(path.resolve())
    index.parent.mkdir(parents=True, exist_ok=True)
    index.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _reports() -> dict[str, str]:
    try:
        loaded = json.loads(_index_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def report_of(run_id: str) -> Path | None:
    """The tear sheet last written for ``run_id``, if it is still there."""
    where = _reports().get(run_id)
    return Path(where) if where and Path(where).exists() else None


def json_safe(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics for JSON: infinities and NaN as strings (JSON has no such numbers)."""
    return {
        k: v if not isinstance(v, float) or math.isfinite(v) else str(v) for k, v in metrics.items()
    }


@app.command("ls")
@one_line_errors
def ls(
    kind: Annotated[str | None, typer.Option(help="Only runs of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="The newest N runs.")] = 30,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the short ids, one a line (for $(...)).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Runs, newest first, with short ids (any unique prefix of an id works as RUN)."""
    with ready_engine().connect() as conn:
        rows = run_store.list_runs(conn, kind, limit)
    short = run_store.short_ids([r.id for r in rows])
    if quiet and not as_json:
        for r in rows:
            print(short[r.id])
        return
    if as_json:
        emit_json(
            {
                "runs": [
                    {
                        "id": r.id,
                        "short_id": short[r.id],
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
            short[r.id],
            r.kind,
            r.name,
            r.status,
            r.config_fingerprint[:12],
            f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            mark_tags(r.marks),
        )
    out.print(t if rows else "no runs yet")


@app.command("show")
@one_line_errors
def show(run: RunArg, as_json: JsonOpt = False) -> None:
    """One run: its config, data range, metrics per strategy and where its report is."""
    with ready_engine().connect() as conn:
        row = run_store.resolve_run(conn, run)
        config = catalog.get_config(conn, row.config_fingerprint)
        results = run_store.strategy_results(conn, row.id)
    report = report_of(row.id)
    if as_json:
        emit_json(
            {
                "id": row.id,
                "short_id": run_store.short_id(row.id),
                "kind": row.kind,
                "name": row.name,
                "status": row.status,
                "message": row.message,
                "code_version": row.code_version,
                "started_at": row.started_at,
                "finished_at": row.finished_at,
                "data_start": row.data_start,
                "data_end": row.data_end,
                "config": {"fingerprint": config.fingerprint, "body": config.body},
                "metrics": json_safe(row.metrics),
                "results": [
                    {"strategy": r.strategy, "params": r.params, "metrics": json_safe(r.metrics)}
                    for r in results
                ],
                "report": str(report) if report else None,
                "marks": row.marks or {},
            }
        )
        return
    finished = f"{row.finished_at:%Y-%m-%d %H:%M:%S}" if row.finished_at else "—"
    out.print(
        f"[bold]run {row.id}[/] ({row.kind} {row.name}): {row.status}, "
        f"started {row.started_at:%Y-%m-%d %H:%M:%S}, finished {finished}",
        highlight=False,
        soft_wrap=True,
    )
    if row.message:
        out.print(f"message: {row.message}", highlight=False, markup=False, soft_wrap=True)
    out.print(f"code: {row.code_version}", highlight=False)
    if row.marks:
        from tradewind.pipelines.models import describe_marks

        out.print(f"marks: {describe_marks(row.marks)}", highlight=False, markup=False)
    if row.data_start and row.data_end:
        out.print(f"data: {row.data_start:%Y-%m-%d %H:%M} to {row.data_end:%Y-%m-%d %H:%M}")
    else:
        out.print("data: not recorded")
    out.print(f"config {config.fingerprint[:12]} ({config.kind} {config.name}):", highlight=False)
    out.print(
        yaml.safe_dump(config.body, sort_keys=False).rstrip(),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if results:
        t = Table("strategy", *HEADLINE, title="metrics per strategy")
        for r in results:
            t.add_row(r.strategy, *(fmt_metric(k, r.metrics.get(k)) for k in HEADLINE))
        out.print(t)
    elif row.metrics:
        t = Table("metric", "value", title="metrics")
        for k, v in sorted(row.metrics.items()):
            t.add_row(k, fmt_metric(k, v))
        out.print(t)
    if report is not None:
        out.print(f"report: {report}", highlight=False)
    elif row.kind == "backtest":
        out.print(f"report: none written yet (tradewind report {run_store.short_id(row.id)})")


@app.command("compare")
@one_line_errors
def compare(
    runs: Annotated[
        list[str],
        typer.Argument(metavar="RUN...", help="Two or more backtest runs (ids or prefixes)."),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Backtest runs side by side: one column per strategy result."""
    columns: list[tuple[str, dict[str, Any]]] = []
    with ready_engine().connect() as conn:
        for ref in runs:
            row = run_store.resolve_run(conn, ref)
            for r in run_store.strategy_results(conn, row.id):
                columns.append((f"{run_store.short_id(row.id)} {r.strategy}", r.metrics))
    if as_json:
        emit_json({"columns": [{"name": n, "metrics": json_safe(m)} for n, m in columns]})
        return
    keys = list(dict.fromkeys(k for _, m in columns for k in m))
    t = Table("metric", *(n for n, _ in columns))
    for k in keys:
        t.add_row(k, *(fmt_metric(k, m.get(k)) for _, m in columns))
    out.print(t)
