"""Reading bars by symbol on both databases: ranges are half-open, UTC, ordered, exact."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from tradewind.config import SyntheticConfig, UniverseConfig, load_config
from tradewind.domain import Timeframe
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.storage import catalog, migrate
from tradewind.storage.catalog import UnknownInstrument
from tradewind.storage.engine import make_engine
from tradewind.storage.market import bars_frame, load_bars


def test_load_bars_by_symbol_and_range(db_url: str) -> None:
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    universe = load_config("configs/universe/fx_majors.yaml", UniverseConfig)
    with eng.begin() as conn:
        catalog.upsert_instruments(conn, [s.to_domain() for s in universe.instruments])
    cfg = SyntheticConfig(instrument="EUR_USD", timeframe=Timeframe.H1, bars=300, seed=3)
    synthesize_to_db(eng, cfg)
    start, end = datetime(2024, 1, 3, tzinfo=UTC), datetime(2024, 1, 5, tzinfo=UTC)
    with eng.connect() as conn:
        every = load_bars(conn, "EUR_USD", "H1")
        some = load_bars(conn, "EUR_USD", Timeframe.H1, "mid", start, end)
        bid = load_bars(conn, "EUR_USD", "H1", "bid", start, end)
        with pytest.raises(UnknownInstrument):
            load_bars(conn, "ZZZ_USD", "H1")
    assert len(every) == 300
    assert len(some) == 48
    frame = bars_frame(some)
    assert frame.index[0] == start
    assert frame.index[-1] == datetime(2024, 1, 4, 23, tzinfo=UTC)
    assert str(frame.index.tz) == "UTC"
    assert (np.diff(some.ts) > 0).all()
    assert (bid.close < some.close).all()
    mask = (every.ts >= some.ts[0]) & (every.ts <= some.ts[-1])
    np.testing.assert_array_equal(every.close[mask], some.close)
