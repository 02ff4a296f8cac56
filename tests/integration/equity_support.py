"""A daily equity (AAPL_USD on XNYS, tick 0.01) in the security master, imported from a CSV
of weekday bars stamped on New York dates: shared by the non-FX instrument tests."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from tradewind.config import ImportSpec, InstrumentSpec, UniverseConfig
from tradewind.domain import AssetClass, Timeframe
from tradewind.pipelines.ingest import ImportReport, import_file
from tradewind.pipelines.setup import initialise

EQUITY = "AAPL_USD"


def import_daily_equity(
    engine: Engine, folder: Path, bars: int, start: datetime, seed: int, drift: float = 0.0
) -> ImportReport:
    """``bars`` weekday bars of a random walk from 180.00 (``drift``: mean log return a bar),
    written to ``folder`` and imported."""
    initialise(
        engine,
        UniverseConfig(
            name="eq",
            instruments=(
                InstrumentSpec(symbol=EQUITY, asset_class=AssetClass.EQUITY, tick_size=0.01),
            ),
        ),
    )
    rng = np.random.default_rng(seed)
    day = start.replace(tzinfo=UTC)
    rows, price = [], 180.0
    while len(rows) < bars:
        if day.weekday() < 5:
            o = price
            price = round(price * math.exp(rng.normal(drift, 0.015)), 2)
            hi, lo = max(o, price) + 0.5, min(o, price) - 0.5
            rows.append(f"{day:%Y-%m-%d},{o:.2f},{hi:.2f},{lo:.2f},{price:.2f},1000000")
        day += timedelta(days=1)
    f = folder / "aapl.csv"
    f.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    spec = ImportSpec(instrument=EQUITY, timeframe=Timeframe.D, timezone="America/New_York")
    return import_file(engine, f, spec)
