"""Synthetic bars into the security master or a file, labelled synthetic wherever they show."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import Engine

from tradewind.config import SyntheticConfig
from tradewind.domain import BarSeries, PriceSide
from tradewind.domain.progress import Progress
from tradewind.marketdata.issues import RowIssues
from tradewind.marketdata.synthetic import generate_bars
from tradewind.marketdata.validation import validate_bars
from tradewind.pipelines.ingest import ImportReport, Source, check_instrument, store_series
from tradewind.storage import runs

VENDOR = "synthetic"


def side_series(df: pd.DataFrame, side: PriceSide) -> BarSeries:
    """Mid bars as generated, or bid/ask half a spread below/above them."""
    shift = {PriceSide.MID: 0.0, PriceSide.BID: -0.5, PriceSide.ASK: 0.5}[side]
    half = df["spread"].to_numpy() * shift
    ts = (
        df["ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]").view(np.int64)
    )
    cols = {c: df[c].to_numpy(dtype=np.float64) + half for c in ("open", "high", "low", "close")}
    return BarSeries(
        ts=ts,
        volume=df["volume"].to_numpy(dtype=np.float64),
        line=np.arange(1, len(df) + 1, dtype=np.int64),
        **cols,
    )


def _silent(done: int, total: int) -> None:
    return None


def synthesize_to_db(
    engine: Engine,
    cfg: SyntheticConfig,
    sides: tuple[PriceSide, ...] = tuple(PriceSide),
    *,
    progress: Progress | None = None,
) -> list[ImportReport]:
    """Generate and store each side as its own batch; the run records the config fingerprint.
    ``progress`` hears ``(done, 1 + len(sides))``: the bars generated, then each side stored."""
    report = progress or _silent
    total = 1 + len(sides)
    report(0, total)
    check_instrument(engine, cfg.instrument)
    run_id = runs.start_run(
        engine, "synthesize", cfg, name=f"synthetic {cfg.instrument} {cfg.timeframe}"
    )
    try:
        started = time.perf_counter()
        df = generate_bars(cfg)
        report(1, total)
        reports = []
        for side in sides:
            bars = side_series(df, side)
            issues = validate_bars(bars, cfg.timeframe, RowIssues(len(bars)))
            source = Source(
                f"synthetic:{cfg.fingerprint[:12]}:{side.value}",
                "synthetic",
                cfg.fingerprint,
                VENDOR,
                synthetic=True,
            )
            raw = _raw(df)
            reports.append(
                store_series(
                    engine,
                    source,
                    cfg,
                    cfg.instrument,
                    cfg.timeframe,
                    side,
                    bars,
                    issues,
                    raw,
                    started=started,
                )
            )
            report(1 + len(reports), total)
    except BaseException as exc:
        runs.finish_run(engine, run_id, "failed", {}, f"{type(exc).__name__}: {exc}")
        raise
    metrics = {
        r.side: {"inserted": r.inserted, "duplicates": r.skipped_duplicates} for r in reports
    }
    runs.finish_run(engine, run_id, "succeeded", metrics)
    return reports


def _raw(df: pd.DataFrame) -> Callable[[np.ndarray], list[dict[str, object]]]:
    def rows(idx: np.ndarray) -> list[dict[str, object]]:
        sub = df.iloc[idx]
        return [
            {str(k): (str(v) if k == "ts" else float(v)) for k, v in r.items()}
            for r in sub.to_dict("records")
        ]

    return rows


def synthesize_to_file(
    cfg: SyntheticConfig,
    out: Path,
    side: PriceSide = PriceSide.MID,
    *,
    progress: Progress | None = None,
) -> int:
    """Write one side to CSV or Parquet (by extension) with a ``spread`` column; returns rows.
    ``progress`` hears ``(done, 2)``: the bars generated, then the file written."""
    report = progress or _silent
    report(0, 2)
    df = generate_bars(cfg)
    report(1, 2)
    bars = side_series(df, side)
    table = pa.table(
        {
            "time": pa.array(bars.ts.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
            "open": bars.open,
            "high": bars.high,
            "low": bars.low,
            "close": bars.close,
            "volume": bars.volume,
            "spread": df["spread"].to_numpy(),
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".parquet", ".pq"):
        pq.write_table(table, out)
    else:
        pacsv.write_csv(table, out)
    report(2, 2)
    return len(df)
