"""The demo promotes by the retraining job's gate (``retrain.judge_version``): a version that
fails stays off ``champion`` (aliased ``challenger``, the decision stored with the gate's
reason), one that passes becomes champion; the held-out comparison leaves out a model
strategy without a champion. Real training, real backtests, SQLite and Postgres."""

from __future__ import annotations

from pathlib import Path

import pytest
from retrain_support import STRATEGIES, gate, seed, write_model_config
from sqlalchemy import Engine

from tradewind.cli.demo import with_champions
from tradewind.config import load_config
from tradewind.config.backtest import BacktestConfig, StrategySpec
from tradewind.config.models import ModelConfig
from tradewind.pipelines.retrain import judge_version
from tradewind.pipelines.train import train
from tradewind.registry import resolve_tracking
from tradewind.registry.tracking import Tracking
from tradewind.registry.versions import alias_version
from tradewind.storage import promotions

NAME = "demo-gate-logreg"


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    seed(db_engine)
    return db_engine


@pytest.fixture
def tracking(tmp_path: Path) -> Tracking:
    return resolve_tracking(tmp_path / "home", environ={})


def comparison() -> BacktestConfig:
    return BacktestConfig(
        name="held-out",
        instruments=("EUR_USD",),
        timeframe="H1",
        strategies=(
            StrategySpec(name="buy_and_hold"),
            StrategySpec(
                name="model_target", label="logreg", params={"model": f"models:/{NAME}@champion"}
            ),
        ),
    )


def test_only_a_version_that_passes_the_gate_becomes_champion(
    engine: Engine, tracking: Tracking, tmp_path: Path
) -> None:
    cfg = load_config(write_model_config(tmp_path, NAME), ModelConfig)

    first = train(engine, cfg, tracking=tracking)
    strict = gate(min_trades=1_000_000)
    out = judge_version(
        engine,
        cfg,
        strict,
        first.model_version,
        run_key="demo-v1",
        tracking=tracking,
        strategies_dir=STRATEGIES,
    )
    p = out.promotion
    assert (p.decision, p.challenger_version, p.champion_version) == ("rejected", "1", None)
    assert p.reason.endswith("the gate wants at least 1000000")
    assert alias_version(tracking, NAME, "champion") is None
    assert alias_version(tracking, NAME, "challenger") == "1"
    stored = promotions.get(engine, NAME, "demo-v1")
    assert stored is not None
    assert stored.decision == "rejected"
    # later stages: the comparison leaves the model out rather than fail on a missing alias
    kept, skipped = with_champions(comparison(), tracking)
    assert [s.result_name for s in kept.strategies] == ["buy_and_hold"]
    assert skipped == ["logreg"]

    second = train(engine, cfg, tracking=tracking)
    out = judge_version(
        engine,
        cfg,
        gate(),
        second.model_version,
        run_key="demo-v2",
        tracking=tracking,
        strategies_dir=STRATEGIES,
    )
    assert out.promotion.decision == "promoted"
    assert out.promotion.reason.startswith("no champion yet")
    assert alias_version(tracking, NAME, "champion") == "2"
    kept, skipped = with_champions(comparison(), tracking)
    assert [s.result_name for s in kept.strategies] == ["buy_and_hold", "logreg"]
    assert skipped == []
    # judged again for the same key: the stored decision, nothing run again
    again = judge_version(
        engine,
        cfg,
        strict,
        second.model_version,
        run_key="demo-v2",
        tracking=tracking,
        strategies_dir=STRATEGIES,
    )
    assert (again.fresh, again.promotion.decision) == (False, "promoted")
