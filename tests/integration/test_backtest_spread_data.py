"""``costs.spread: data`` end to end on SQLite: the pipeline loads the stored bid and ask
bars, and every fill pays exactly half that fill bar's ask - bid spread at the open."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig
from tradewind.domain import PriceSide
from tradewind.pipelines.backtest import BacktestInputError, run_backtest
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.storage.engine import make_engine
from tradewind.storage.market import load_bars
from tradewind.storage.schema import RunRow


def config(**kw) -> BacktestConfig:
    body = {
        "name": "spread-data",
        "instruments": ["EUR_USD"],
        "timeframe": "H1",
        "features": "configs/features/default.yaml",
        "strategies": [{"name": "sma_crossover", "params": {"allow_short": True}}],
        "cash": 100_000,
        "sizing": {"method": "fixed_units", "value": 10_000},
        "costs": {"spread": "data"},
        "fill": "next_open",
        **kw,
    }
    return BacktestConfig.model_validate(body)


def test_each_fill_pays_half_the_stored_spread(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        initialise(engine)
        synthesize_to_db(engine, SyntheticConfig(bars=800, seed=2))
        done = run_backtest(engine, config())
        with engine.connect() as conn:
            mid, bid, ask = (
                load_bars(conn, "EUR_USD", "H1", side) for side in ("mid", "bid", "ask")
            )
    finally:
        engine.dispose()
    (result,) = done.results
    assert len(result.fills) > 4
    spread = ask.open - bid.open
    assert np.all(spread > 0)
    for f in result.fills:
        i = int(np.searchsorted(mid.ts, f.ts_us))
        assert mid.ts[i] == f.ts_us
        half = spread[i] / 2.0
        assert f.price == (mid.open[i] + half if f.units > 0 else mid.open[i] - half)
        assert abs(f.price - mid.open[i]) == pytest.approx(half, rel=1e-9)


def test_missing_ask_bars_fail_before_a_run(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        initialise(engine)
        synthesize_to_db(
            engine, SyntheticConfig(bars=200, seed=2), sides=(PriceSide.MID, PriceSide.BID)
        )
        with engine.connect() as conn:
            before = conn.scalar(select(func.count()).select_from(RunRow))
        with pytest.raises(BacktestInputError, match="no EUR_USD H1 ask bars"):
            run_backtest(engine, config())
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(RunRow)) == before
    finally:
        engine.dispose()
