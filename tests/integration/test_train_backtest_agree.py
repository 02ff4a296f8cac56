"""A model's training test-split metrics and its backtest by alias over the same period agree
(to 1e-9 relative): one rule decides how the test split is traded, in training and in
Backtrader. Covered: a scikit-learn model on a daily equity, whose fractional targets are
orders the backtest rounds to whole shares (training once traded fractional shares: 0.004976
vs 0.005033 on daily AAPL) and whose last ``horizon`` test bars have no label but trade; a
continuous-action PPO agent, whose targets are fractions too; a USD_JPY model with a fixed
spread, in USD_JPY's pips (10**-2) on both paths, not the model config's (EUR_USD's 10**-4).
On SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from equity_support import EQUITY, import_daily_equity
from sqlalchemy import Engine, func, select

from tradewind.backtest.result import BacktestResult
from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig, StrategySpec
from tradewind.config.models import (
    EnvConfig,
    ModelConfig,
    RLLearner,
    Split,
    Splits,
    SupervisedLearner,
)
from tradewind.domain import PriceSide
from tradewind.domain.instruments import round_units
from tradewind.pipelines.backtest import run_backtest
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.pipelines.train import TrainInputError, TrainResult, train
from tradewind.registry import configure, promote, resolve_tracking
from tradewind.storage.engine import make_engine
from tradewind.storage.market import load_bars
from tradewind.storage.schema import RunRow

REPO = Path(__file__).resolve().parents[2]
FEATURES = str(REPO / "configs" / "features" / "default.yaml")
COLUMNS = ("rsi_14", "macd", "log_return_1", "zscore_20")
DAILY = Splits(
    train=Split(start=datetime(2023, 1, 1), end=datetime(2023, 10, 1)),
    validation=Split(start=datetime(2023, 10, 1), end=datetime(2024, 1, 1)),
    test=Split(start=datetime(2024, 1, 1), end=datetime(2024, 7, 1)),
)
HOURLY = Splits(
    train=Split(start=datetime(2024, 1, 1), end=datetime(2024, 2, 12)),
    validation=Split(start=datetime(2024, 2, 12), end=datetime(2024, 2, 26)),
    test=Split(start=datetime(2024, 2, 26), end=datetime(2024, 3, 20)),
)
# what training logs and a backtest computes alike
SHARED = ("total_return", "sharpe", "max_drawdown", "trades")


@pytest.fixture
def engine(db_url: str, home: Path) -> Iterator[Engine]:
    eng = make_engine(db_url)
    initialise(eng)  # the FX majors: USD_JPY's pip is 10**-2
    synthesize_to_db(
        eng,
        SyntheticConfig(
            instrument="USD_JPY",
            timeframe="H1",
            bars=1200,
            seed=7,
            start_price=150.0,
            pip_location=-2,
            price_decimals=3,
        ),
    )
    # AAPL_USD: whole shares (unit precision 0), a tick of 0.01 (its pip), the XNYS year
    assert import_daily_equity(eng, home, 400, datetime(2023, 1, 2), seed=5).quarantined == 0
    yield eng
    eng.dispose()


def supervised(
    name: str, instrument: str, timeframe: str, splits: Splits, **env: Any
) -> ModelConfig:
    return ModelConfig(
        name=name,
        instrument=instrument,
        timeframe=timeframe,
        features=FEATURES,
        columns=COLUMNS,
        window=5,
        splits=splits,
        learner=SupervisedLearner(
            estimator="logistic_regression", params={"C": 0.1}, cv={"n_splits": 3}
        ),
        env=EnvConfig(**env),
        seed=1,
    )


def train_and_backtest(
    engine: Engine, home: Path, cfg: ModelConfig
) -> tuple[TrainResult, BacktestResult]:
    """Train ``cfg``, promote it to champion, and backtest ``models:/NAME@champion`` over its
    test split, warmed up over exactly the bars training computed features on before it."""
    trained = train(engine, cfg, tracking=resolve_tracking(home))
    promote(
        configure(resolve_tracking(home)), trained.model_name, trained.model_version, "champion"
    )
    with engine.connect() as conn:
        before = load_bars(
            conn,
            cfg.instrument,
            cfg.timeframe,
            PriceSide(cfg.side),
            cfg.splits.train.start,
            cfg.splits.test.start,
        )
    bt = BacktestConfig(
        name=f"{cfg.name}-by-alias",
        instruments=(cfg.instrument,),
        timeframe=cfg.timeframe,
        start=cfg.splits.test.start,
        end=cfg.splits.test.end,
        warmup_bars=len(before),
        features=cfg.features,
        strategies=(
            StrategySpec(
                name="model_target", label="m", params={"model": f"models:/{cfg.name}@champion"}
            ),
        ),
        cash=cfg.env.cash,
        sizing={"method": "fixed_units", "value": cfg.env.max_units},
        costs=cfg.env.costs,
        fill=cfg.env.fill,
    )
    (result,) = run_backtest(engine, bt, tracking=resolve_tracking(home)).results
    return trained, result


def assert_same_metrics(trained: TrainResult, result: BacktestResult) -> None:
    assert result.metrics["trades"] >= 2, "the model hardly traded: a weak test"
    for key in SHARED:
        got, want = trained.metrics[f"test_{key}"], result.metrics[key]
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (key, got, want)


def assert_fractional_targets_rounded(result: BacktestResult, max_units: float) -> None:
    """The model's targets were fractions of ``max_units``: the orders were rounded."""
    assert all(f.units == round_units(f.units, 0) for f in result.fills)
    assert any(abs(f.units) not in (max_units, 2 * max_units) for f in result.fills)


def test_a_scikit_learn_model_on_a_daily_equity(engine: Engine, home: Path) -> None:
    cfg = supervised(
        "eq-sk",
        EQUITY,
        "D",
        DAILY,
        costs={"commission_bps": 1.0, "spread": "fixed", "spread_pips": 2.0},
        max_units=100.0,
    )
    trained, result = train_and_backtest(engine, home, cfg)
    assert_same_metrics(trained, result)
    assert_fractional_targets_rounded(result, cfg.env.max_units)
    # the split's last `horizon` bars have no label but are traded, on both paths: the
    # equal equity over the whole split (its every bar in the backtest) says so
    # a fixed spread of 2 AAPL pips (2 cents) costs one cent a share on each fill
    assert all(f.spread_cost == pytest.approx(abs(f.units) * 0.01) for f in result.fills)


def test_a_continuous_ppo_agent_on_a_daily_equity(engine: Engine, home: Path) -> None:
    cfg = ModelConfig(
        name="eq-ppo",
        instrument=EQUITY,
        timeframe="D",
        features=FEATURES,
        columns=COLUMNS,
        window=5,
        splits=DAILY,
        learner=RLLearner(algo="ppo", timesteps=256, eval_freq=128, hyperparams={"n_steps": 64}),
        env=EnvConfig(
            actions={"kind": "continuous"},
            costs={"commission_bps": 1.0},
            episode_bars=64,
            max_drawdown=1.0,
            max_units=100.0,
        ),
        seed=1,
    )
    trained, result = train_and_backtest(engine, home, cfg)
    assert_same_metrics(trained, result)
    assert_fractional_targets_rounded(result, cfg.env.max_units)


def test_a_usd_jpy_model_pays_its_fixed_spread_in_yen_pips(engine: Engine, home: Path) -> None:
    costs = {"spread": "fixed", "spread_pips": 1.0}
    cfg = supervised("jpy-sk", "USD_JPY", "H1", HOURLY, costs=costs, max_units=500.0)
    trained, result = train_and_backtest(engine, home, cfg)
    assert_same_metrics(trained, result)
    # one USD_JPY pip is 0.01 yen: half of it a unit on each fill, in training and backtest
    assert result.fills
    assert all(f.spread_cost == pytest.approx(abs(f.units) * 0.005) for f in result.fills)


def test_a_pip_location_against_the_security_master_is_refused(engine: Engine, home: Path) -> None:
    cfg = supervised(
        "jpy-bad",
        "USD_JPY",
        "H1",
        HOURLY,
        costs={"spread": "fixed", "spread_pips": 1.0},
        pip_location=-4,
    )
    with engine.connect() as conn:
        runs_before = conn.execute(select(func.count()).select_from(RunRow)).scalar_one()
    with pytest.raises(
        TrainInputError,
        match=r"env.pip_location -4 contradicts the security master's pip location -2 for "
        r"USD_JPY.*deprecated",
    ):
        train(engine, cfg, tracking=resolve_tracking(home))
    with engine.connect() as conn:  # refused before anything was recorded
        assert conn.execute(select(func.count()).select_from(RunRow)).scalar_one() == runs_before
    # the same value as the security master's is accepted (redundant, not contradictory)
    ok = supervised("jpy-ok", "USD_JPY", "H1", HOURLY, pip_location=-2)
    assert train(engine, ok, tracking=resolve_tracking(home)).metrics
