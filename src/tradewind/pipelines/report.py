"""Tear sheets from stored runs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tradewind.domain import Timeframe
from tradewind.pipelines.backtest import periods_per_year
from tradewind.reports.tearsheet import render_tearsheet, write_tearsheet
from tradewind.storage import runs
from tradewind.storage.backtests import load_results
from tradewind.storage.schema import ConfigRow, IngestBatchRow, InstrumentRow, VendorRow


def write_report(engine: Engine, run_id: str, path: str | Path) -> Path:
    with engine.connect() as conn:
        run = runs.get_run(conn, run_id)
        if run is None:
            raise LookupError(f"no run {run_id}")
        if run.kind != "backtest":
            raise LookupError(f"run {run_id} is a {run.kind} run, not a backtest")
        results = load_results(conn, run_id)
        config = (
            Session(conn)
            .scalars(select(ConfigRow).where(ConfigRow.fingerprint == run.config_fingerprint))
            .one()
        )
        body = dict(config.body)
        synthetic = (
            conn.scalar(
                select(IngestBatchRow.id)
                .join(VendorRow, VendorRow.id == IngestBatchRow.vendor_id)
                .join(InstrumentRow, InstrumentRow.id == IngestBatchRow.instrument_id)
                .where(
                    VendorRow.synthetic.is_(True),
                    InstrumentRow.symbol.in_(body.get("instruments", [])),
                    IngestBatchRow.timeframe == body.get("timeframe"),
                )
                .limit(1)
            )
            is not None
        )
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
    }
    facts["periods_per_year"] = periods_per_year(Timeframe(body["timeframe"]))
    out = Path(path)
    write_tearsheet(out, render_tearsheet(results, facts, body))
    return out
