"""Reading bars by symbol on both databases: ranges are half-open, UTC, ordered, exact."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from tradewind.config import SyntheticConfig
from tradewind.domain import Timeframe
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.storage.catalog import UnknownInstrument
from tradewind.storage.engine import make_engine
from tradewind.storage.market import bars_frame, load_bars


def test_load_bars_by_symbol_and_range(db_url: str) -> None:
    eng = make_engine(db_url)
    initialise(eng)
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


def test_bars_reference_existing_rows_after_imports(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """bars has no foreign keys (bulk-load speed): the store keeps the references sound."""
    from tradewind.config import ConflictPolicy, ImportSpec
    from tradewind.pipelines.ingest import import_file
    from tradewind.pipelines.synthetic import synthesize_to_file
    from tradewind.storage.integrity import orphan_bars

    eng = make_engine(db_url)
    initialise(eng)
    synthesize_to_db(eng, SyntheticConfig(instrument="USD_JPY", bars=200, start_price=150.0))
    path = tmp_path / "gbp.csv"
    synthesize_to_file(SyntheticConfig(instrument="GBP_USD", bars=200, seed=2), path)
    spec = ImportSpec(instrument="GBP_USD", timeframe=Timeframe.H1, vendor="acme")
    import_file(eng, path, spec)
    import_file(eng, path, spec.model_copy(update={"on_conflict": ConflictPolicy.OVERWRITE}))
    with eng.connect() as conn:
        assert orphan_bars(conn) == {"series": 0, "batch": 0}


def test_postgres_reads_in_pages_stay_exact(pg_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The Postgres read path pages through long ranges; tiny pages must give the same bars."""
    from tradewind.storage import bars_pg

    eng = make_engine(pg_url)
    initialise(eng)
    synthesize_to_db(eng, SyntheticConfig(instrument="EUR_USD", bars=1000, seed=5))
    with eng.connect() as conn:
        whole = load_bars(conn, "EUR_USD", "H1")
        for page in (1, 7, 999, 1000, 1001):
            monkeypatch.setattr(bars_pg, "READ_PAGE", page)
            paged = load_bars(conn, "EUR_USD", "H1")
            for name in ("ts", "open", "high", "low", "close", "volume"):
                np.testing.assert_array_equal(getattr(paged, name), getattr(whole, name))
