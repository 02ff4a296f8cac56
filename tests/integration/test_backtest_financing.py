"""Financing end to end on both databases: a backtest that charges it stores what it paid and
the tear sheet shows it; a result stored before migration 0011 reads back as not modelled."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, MetaData, Table, insert

from tradewind.config import SyntheticConfig, load_config
from tradewind.config.backtest import BacktestConfig
from tradewind.pipelines.backtest import run_backtest
from tradewind.pipelines.report import write_report
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.storage import migrate, runs
from tradewind.storage.backtests import load_results
from tradewind.storage.engine import make_engine
from tradewind.storage.schema import BacktestEquityRow
from tradewind.storage.types import us_to_datetime

DEMO = Path("configs/backtests/demo.yaml")


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(db_url)
    initialise(eng)
    synthesize_to_db(eng, SyntheticConfig(instrument="EUR_USD", bars=1500, seed=9))
    yield eng
    eng.dispose()


def test_financing_is_charged_stored_and_reported(engine: Engine, tmp_path: Path) -> None:
    demo = load_config(DEMO, BacktestConfig)
    rates = {"financing_long_rate": 0.05, "financing_short_rate": 0.01}
    cfg = demo.model_copy(update={"costs": demo.costs.model_copy(update=rates)})
    cfg = BacktestConfig.model_validate(cfg.model_dump())
    assert cfg.fingerprint != demo.fingerprint
    plain = run_backtest(engine, demo)
    done = run_backtest(engine, cfg)
    for with_fin, without in zip(done.results, plain.results, strict=True):
        assert without.financing == 0.0  # modelled, at rates of 0
        assert with_fin.financing is not None
        assert with_fin.financing > 0
        # the same trades; the equity is lower by what was paid up to each bar
        assert [f.price for f in with_fin.fills] == [f.price for f in without.fills]
        gap = without.equity - with_fin.equity
        assert np.all(np.diff(gap) >= -1e-9)
        assert gap[-1] == pytest.approx(with_fin.financing)
        assert with_fin.metrics["total_return"] < without.metrics["total_return"]
    with engine.connect() as conn:
        stored = load_results(conn, done.run_id)
        stored_plain = load_results(conn, plain.run_id)
    assert [r.financing for r in stored] == [r.financing for r in done.results]
    assert [r.financing for r in stored_plain] == [0.0, 0.0]
    text = _text(write_report(engine, done.run_id, tmp_path / "r.html").read_text())
    assert "not modelled" not in text
    amounts = re.findall(r"Financing (-?[\d,]+\.\d\d) ", text)
    assert [float(a.replace(",", "")) for a in amounts] == [
        round(r.financing or 0.0, 2) for r in done.results
    ]
    plain_html = write_report(engine, plain.run_id, tmp_path / "p.html").read_text()
    assert "Financing 0.00 " in _text(plain_html)


def test_results_stored_before_0011_read_back_as_not_modelled(db_url: str, tmp_path: Path) -> None:
    eng = make_engine(db_url)
    try:
        migrate.upgrade(eng, "0010_backtest_costs_exits")
        run_id = runs.start_run(eng, "backtest", load_config(DEMO, BacktestConfig), name="old")
        ts = 1_704_067_200_000_000 + 3_600_000_000 * np.arange(3, dtype=np.int64)
        with eng.begin() as conn:
            # the table as 0010 left it (no financing column)
            results = Table("backtest_results", MetaData(), autoload_with=conn)
            assert "financing" not in results.c
            rid = conn.execute(
                insert(results).values(
                    run_id=run_id,
                    strategy="sma_crossover",
                    params={},
                    instruments={"symbols": ["EUR_USD"]},
                    metrics={"total_return": 0.0},
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(BacktestEquityRow),
                [
                    {"result_id": rid, "ts": us_to_datetime(int(t)), "equity": 1e5, "exposure": 0.0}
                    for t in ts
                ],
            )
        runs.finish_run(eng, run_id, "succeeded", {})
        migrate.upgrade(eng)
        initialise(eng)  # the instrument and its bars, for the report's benchmark
        synthesize_to_db(eng, SyntheticConfig(instrument="EUR_USD", bars=50, seed=9))
        with eng.connect() as conn:
            [back] = load_results(conn, run_id)
        assert back.financing is None
        text = _text(write_report(eng, run_id, tmp_path / "old.html").read_text())
        assert "Financing not modelled" in text
    finally:
        eng.dispose()
