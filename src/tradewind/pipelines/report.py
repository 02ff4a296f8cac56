"""Tear sheets from stored runs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tradewind.domain import Timeframe
from tradewind.domain.calendars import periods_per_year
from tradewind.pipelines.models import describe_marks
from tradewind.reports.tearsheet import render_tearsheet, write_tearsheet
from tradewind.storage import batches, catalog, runs
from tradewind.storage.backtests import load_results


def write_report(engine: Engine, run_id: str, path: str | Path) -> Path:
    with engine.connect() as conn:
        run = runs.get_run(conn, run_id)
        if run is None:
            raise LookupError(f"no run {run_id}")
        if run.kind != "backtest":
            raise LookupError(f"run {run_id} is a {run.kind} run, not a backtest")
        results = load_results(conn, run_id)
        body = dict(catalog.get_config(conn, run.config_fingerprint).body)
        synthetic = batches.has_synthetic_batch(
            conn, body.get("instruments", []), str(body.get("timeframe"))
        )
        calendars = [i.calendar for i in catalog.list_instruments(conn, body["instruments"])]
    facts = {
        "id": run.id,
        "name": run.name,
        "kind": run.kind,
        "status": run.status,
        "code_version": run.code_version,
        "config_fingerprint": run.config_fingerprint,
        "started_at": str(run.started_at),
        "finished_at": str(run.finished_at),
        "data_start": str(run.data_start),
        "data_end": str(run.data_end),
        "synthetic": synthetic,
        "marks": describe_marks(run.marks),
        "in_sample": bool((run.marks or {}).get("in_sample")),
    }
    facts["periods_per_year"] = periods_per_year(calendars, Timeframe(body["timeframe"]))
    out = Path(path)
    write_tearsheet(out, render_tearsheet(results, facts, body))
    return out
