"""Tear sheets from stored runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from tradewind.backtest.result import BacktestResult
from tradewind.domain import PriceSide, Timeframe
from tradewind.domain.calendars import periods_per_year
from tradewind.pipelines.models import describe_marks
from tradewind.reports.tables import Benchmark
from tradewind.reports.tearsheet import render_tearsheet, write_tearsheet
from tradewind.storage import batches, catalog, runs
from tradewind.storage.backtests import load_results
from tradewind.storage.market import load_bars
from tradewind.storage.types import us_to_datetime


def _benchmark(
    conn: Connection, body: dict[str, Any], results: list[BacktestResult]
) -> Benchmark | None:
    """Buy-and-hold of the run's ``benchmark`` instrument, else of its first instrument, over
    the results' bars (None when no result has bars or the instrument has none there)."""
    symbol = body.get("benchmark") or next(iter(body.get("instruments") or []), None)
    times = [r.ts_us for r in results if len(r.ts_us)]
    if not symbol or not times:
        return None
    first = min(int(t[0]) for t in times)
    last = max(int(t[-1]) for t in times)
    bars = load_bars(
        conn,
        str(symbol),
        str(body["timeframe"]),
        PriceSide(str(body.get("side", "mid"))),
        us_to_datetime(first),
        us_to_datetime(last + 1),
    )
    if len(bars) == 0:
        return None
    return Benchmark(f"Buy and hold {symbol}", bars.ts, bars.close)


def write_report(engine: Engine, run_id: str, path: str | Path) -> Path:
    with engine.connect() as conn:
        run = runs.get_run(conn, run_id)
        if run is None:
            raise LookupError(f"no run {run_id}")
        if run.kind != "backtest":
            raise LookupError(f"run {run_id} is a {run.kind} run, not a backtest")
        results = load_results(conn, run_id)
        body = dict(catalog.get_config(conn, run.config_fingerprint).body)
        pips = {str(i.id): i.pip_location for i in catalog.list_instruments(conn)}
        benchmark = _benchmark(conn, body, results)
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
    html = render_tearsheet(results, facts, body, benchmark=benchmark, pip_locations=pips)
    write_tearsheet(out, html)
    return out
