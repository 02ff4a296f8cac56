"""A model trained on an equity reports its trading metrics on the equity's year (252 trading
days on XNYS, not the FX year's 260), by the same rule as a backtest of it by alias. On
SQLite and Postgres."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from equity_support import import_daily_equity
from model_support import small_ppo
from sqlalchemy import Engine

from tradewind.config.backtest import BacktestConfig, StrategySpec
from tradewind.config.models import ModelConfig, Split, Splits
from tradewind.domain import PriceSide, Timeframe
from tradewind.pipelines.backtest import run_backtest
from tradewind.pipelines.train import train
from tradewind.registry import configure, promote, resolve_tracking
from tradewind.storage.engine import make_engine
from tradewind.storage.market import load_bars

REPO = Path(__file__).resolve().parents[2]
FEATURES = str(REPO / "configs/features/default.yaml")
COSTS = {"commission_bps": 1.0}
TEST_START, TEST_END = datetime(2024, 3, 1), datetime(2024, 7, 1)


@pytest.fixture
def engine(db_url: str, home: Path) -> Iterator[Engine]:
    eng = make_engine(db_url)
    weekdays = int(np.busday_count("2023-01-02", "2024-07-01"))  # every weekday to the end
    report = import_daily_equity(eng, home, weekdays, datetime(2023, 1, 2), seed=5, drift=0.0003)
    assert report.quarantined == 0
    yield eng
    eng.dispose()


def model_config() -> ModelConfig:
    splits = Splits(
        train=Split(start=datetime(2023, 1, 1), end=datetime(2023, 11, 1)),
        validation=Split(start=datetime(2023, 11, 1), end=TEST_START),
        test=Split(start=TEST_START, end=TEST_END),
    )
    return small_ppo(
        "eq-ppo", "AAPL_USD", "D", splits, COSTS, seed=1, episode_bars=64, max_units=100
    )


def test_equity_training_metrics_are_annualised_on_252_days_like_its_backtest(
    engine: Engine, home: Path
) -> None:
    cfg = model_config()
    trained = train(engine, cfg, tracking=resolve_tracking(home))
    promote(
        configure(resolve_tracking(home)), trained.model_name, trained.model_version, "champion"
    )
    with engine.connect() as conn:  # warm up over exactly the bars before the test split
        before = load_bars(
            conn,
            "AAPL_USD",
            Timeframe.D,
            PriceSide.MID,
            cfg.splits.train.start,
            cfg.splits.test.start,
        )
    bt = BacktestConfig(
        name="eq-by-alias",
        instruments=("AAPL_USD",),
        timeframe=Timeframe.D,
        start=cfg.splits.test.start,
        end=cfg.splits.test.end,
        warmup_bars=len(before),
        features=FEATURES,
        strategies=(
            StrategySpec(
                name="model_target", label="ppo", params={"model": "models:/eq-ppo@champion"}
            ),
        ),
        cash=cfg.env.cash,
        sizing={"method": "fixed_units", "value": cfg.env.max_units},
        costs=cfg.env.costs,
        fill=cfg.env.fill,
    )
    (result,) = run_backtest(engine, bt, tracking=resolve_tracking(home)).results
    r = np.diff(result.equity) / result.equity[:-1]
    assert np.std(r, ddof=1) > 0, "the model never traded: a weak test"
    expected = float(np.mean(r) / np.std(r, ddof=1) * math.sqrt(252))
    assert result.metrics["sharpe"] == pytest.approx(expected, rel=1e-9)
    for key in ("total_return", "sharpe", "max_drawdown"):
        assert trained.metrics[f"test_{key}"] == pytest.approx(
            result.metrics[key], rel=1e-9, abs=1e-12
        ), key
