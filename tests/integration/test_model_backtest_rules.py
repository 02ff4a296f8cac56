"""A registered model backtested by alias: the backtest and the training's test metrics follow
one evaluation rule (equal numbers over the same period); another instrument or price side is
refused unless explicitly allowed, and the allowance is recorded on the run; a period the
model trained or validated on is marked in-sample on the run and in the report. On SQLite
and Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from model_support import small_ppo
from sqlalchemy import Engine, select

from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig, StrategySpec
from tradewind.config.models import ModelConfig, Split, Splits
from tradewind.domain import PriceSide
from tradewind.pipelines.backtest import BacktestInputError, Overrides, run_backtest
from tradewind.pipelines.report import write_report
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.pipelines.train import TrainResult, train
from tradewind.registry import configure, promote, resolve_tracking
from tradewind.storage.engine import make_engine
from tradewind.storage.market import load_bars
from tradewind.storage.schema import RunRow

SPLITS = Splits(
    train=Split(start=datetime(2024, 1, 1), end=datetime(2024, 2, 12)),
    validation=Split(start=datetime(2024, 2, 12), end=datetime(2024, 2, 26)),
    test=Split(start=datetime(2024, 2, 26), end=datetime(2024, 3, 20)),
)
COSTS = {"commission_bps": 0.2, "spread": "fixed", "spread_pips": 0.8, "slippage_bps": 0.1}


@pytest.fixture
def engine(db_url: str, home: Path) -> Iterator[Engine]:
    eng = make_engine(db_url)
    initialise(eng)
    for symbol, seed, price in (("EUR_USD", 7, 1.1), ("GBP_USD", 11, 1.27)):
        synthesize_to_db(
            eng,
            SyntheticConfig(
                instrument=symbol, timeframe="H1", bars=1200, seed=seed, start_price=price
            ),
        )
    yield eng
    eng.dispose()


def model_config() -> ModelConfig:
    # seed 1: this model goes short on the test split's first bar: the rule matters
    return small_ppo("rules-ppo", "EUR_USD", "H1", SPLITS, COSTS, seed=1, episode_bars=128)


@pytest.fixture
def champion(engine: Engine, home: Path) -> TrainResult:
    trained = train(engine, model_config(), tracking=resolve_tracking(home))
    promote(
        configure(resolve_tracking(home)), trained.model_name, trained.model_version, "champion"
    )
    return trained


def backtest(
    start: datetime,
    end: datetime,
    *,
    instruments: tuple[str, ...] = ("EUR_USD",),
    side: str = "mid",
    warmup_bars: int = 0,
) -> BacktestConfig:
    cfg = model_config()
    return BacktestConfig(
        name="rules",
        instruments=instruments,
        timeframe="H1",
        side=side,
        start=start,
        end=end,
        warmup_bars=warmup_bars,
        features=cfg.features,
        strategies=(
            StrategySpec(
                name="model_target", label="ppo", params={"model": "models:/rules-ppo@champion"}
            ),
        ),
        cash=cfg.env.cash,
        sizing={"method": "fixed_units", "value": cfg.env.max_units},
        costs=cfg.env.costs,
        fill=cfg.env.fill,
    )


def marks_of(engine: Engine, run_id: str) -> dict | None:
    with engine.connect() as conn:
        return conn.execute(select(RunRow.marks).where(RunRow.id == run_id)).scalar_one()


def test_training_test_metrics_equal_the_backtest_by_alias(
    engine: Engine, home: Path, champion: TrainResult
) -> None:
    # the training's features start at the train split's first bar: warm up over exactly
    # the bars before the test split, so both compute the same feature values
    with engine.connect() as conn:
        before = load_bars(
            conn, "EUR_USD", "H1", PriceSide.MID, SPLITS.train.start, SPLITS.test.start
        )
    cfg = backtest(SPLITS.test.start, SPLITS.test.end, warmup_bars=len(before))
    done = run_backtest(engine, cfg, tracking=resolve_tracking(home))
    m = done.results[0].metrics
    for key in ("total_return", "sharpe", "max_drawdown"):
        assert np.isclose(m[key], champion.metrics[f"test_{key}"], rtol=1e-9, atol=1e-12), key
    assert champion.metrics["test_total_return"] != 0.0, "the model never traded: a weak test"
    # it decided on the test split's first bar (its window reaching into the warm-up): the
    # order filled at the second bar's open. Waiting for `window` bars of the range, as
    # backtests did before, would have made other numbers
    result = done.results[0]
    assert result.fills[0].ts_us == int(result.ts_us[1])
    assert marks_of(engine, done.run_id) is None  # held out: no marks
    assert done.to_json()["in_sample"] is False


def test_another_instrument_is_refused_unless_allowed_and_recorded(
    engine: Engine, home: Path, champion: TrainResult, tmp_path: Path
) -> None:
    cfg = backtest(SPLITS.test.start, SPLITS.test.end, instruments=("GBP_USD",))
    with engine.connect() as conn:
        before = conn.execute(select(RunRow.id)).all()
    with pytest.raises(
        BacktestInputError,
        match=r"trained on EUR_USD; the caller trades GBP_USD.*--allow-other-instrument",
    ):
        run_backtest(engine, cfg, tracking=resolve_tracking(home))
    with engine.connect() as conn:
        assert conn.execute(select(RunRow.id)).all() == before  # nothing recorded
    with pytest.raises(BacktestInputError, match=r"trained on mid prices.*--allow-other-side"):
        run_backtest(
            engine,
            backtest(SPLITS.test.start, SPLITS.test.end, side="bid"),
            tracking=resolve_tracking(home),
        )

    done = run_backtest(
        engine,
        cfg,
        tracking=resolve_tracking(home),
        overrides=Overrides(allow_other_instrument=True),
    )
    version = champion.model_version
    assert marks_of(engine, done.run_id) == {
        "allowed": [
            {
                "strategy": "ppo",
                "model": f"models:/rules-ppo/{version}",
                "check": "instrument",
                "trained_on": "EUR_USD",
                "run_on": "GBP_USD",
                "flag": "--allow-other-instrument",
            }
        ]
    }
    html = write_report(engine, done.run_id, tmp_path / "r.html").read_text()
    assert "ALLOWED ppo" in html
    assert "IN-SAMPLE</span>" not in html


def test_a_period_the_model_saw_is_marked_in_sample(
    engine: Engine, home: Path, champion: TrainResult, tmp_path: Path
) -> None:
    done = run_backtest(
        engine,
        backtest(SPLITS.validation.start, SPLITS.test.end),
        tracking=resolve_tracking(home),
    )
    marks = marks_of(engine, done.run_id)
    assert marks is not None
    (mark,) = marks["in_sample"]
    assert mark["strategy"] == "ppo"
    assert mark["model"] == f"models:/rules-ppo/{champion.model_version}"
    assert mark["splits"] == ["validation"]
    assert mark["start"].startswith("2024-02-12T00:00:00")
    assert done.to_json()["in_sample"] is True
    html = write_report(engine, done.run_id, tmp_path / "r.html").read_text()
    assert "IN-SAMPLE</span>" in html
    assert "IN-SAMPLE ppo: models:/rules-ppo/" in html
