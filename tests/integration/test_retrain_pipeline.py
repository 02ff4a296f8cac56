"""Retraining with the champion/challenger gate, through the real pipeline: synthetic bars in
SQLite and Postgres, the embedded MLflow store, real training and real Backtrader backtests.

The gate's numbers force each decision: a margin of -1e9 promotes any challenger, +1e9
rejects any, an impossible trade count fails the absolute checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from retrain_support import STRATEGIES, gate, seed, write_model_config
from sqlalchemy import Engine, func, select

from tradewind.config import load_config
from tradewind.config.models import ModelConfig
from tradewind.pipelines.retrain import (
    RetrainRefused,
    judge_challenger,
    retrain,
    train_challenger,
)
from tradewind.registry import resolve_tracking, show_model
from tradewind.registry.tracking import Tracking
from tradewind.registry.versions import alias_version
from tradewind.storage import promotions
from tradewind.storage.schema import RunRow
from tradewind.storage.schema_platform import ModelPromotionRow

AS_OF = datetime(2024, 4, 15, tzinfo=UTC)  # the held-out window ends here
WINDOW_START = datetime(2024, 3, 8, 21, tzinfo=UTC)


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    seed(db_engine)
    return db_engine


@pytest.fixture
def tracking(tmp_path: Path) -> Tracking:
    return resolve_tracking(tmp_path / "home", environ={})


def model(tmp_path: Path, name: str) -> ModelConfig:
    return load_config(write_model_config(tmp_path, name), ModelConfig)


def versions(tracking: Tracking, name: str) -> list[str]:
    return sorted(str(v.version) for v in tracking.client().search_model_versions(f"name='{name}'"))


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ModelPromotionRow)).scalar_one())


def test_first_champion_then_a_rejection_then_a_promotion(
    engine: Engine, tracking: Tracking, tmp_path: Path
) -> None:
    cfg = model(tmp_path, "retrain-logreg")
    kw = {"as_of": AS_OF, "tracking": tracking}

    # no champion yet: the absolute checks pass, version 1 becomes champion. A crash after
    # training is survived: the version trained for the run key is found, not trained again
    first = train_challenger(engine, cfg, gate(), run_key="week-1", **kw)
    again = train_challenger(engine, cfg, gate(), run_key="week-1", **kw)
    assert (first.version, first.trained, again.version, again.trained) == ("1", True, "1", False)
    out = judge_challenger(
        engine, cfg, gate(), again, run_key="week-1", strategies_dir=STRATEGIES, **kw
    )
    p = out.promotion
    assert out.fresh
    assert (p.decision, p.champion_version) == ("promoted", None)
    assert p.reason.startswith("no champion yet")
    # the bar after the last validation bar (Friday 2024-03-08 20:00, before the weekend)
    assert (p.window_start, p.window_end) == (WINDOW_START, AS_OF)
    assert p.champion_run_id is None
    assert p.challenger_run_id
    assert alias_version(tracking, cfg.name, "champion") == "1"

    # a margin no model can make: rejected, aliased challenger, the champion stays
    out = retrain(
        engine, cfg, gate(min_margin=1e9), run_key="week-2", strategies_dir=STRATEGIES, **kw
    )
    p = out.promotion
    assert (p.decision, p.challenger_version, p.champion_version) == ("rejected", "2", "1")
    assert "vs champion" in p.reason
    assert "margin" in p.reason
    assert alias_version(tracking, cfg.name, "champion") == "1"
    assert alias_version(tracking, cfg.name, "challenger") == "2"
    assert p.challenger_metrics["sharpe"] == pytest.approx(p.champion_metrics["sharpe"])
    tags2 = show_model(tracking, f"{cfg.name}/2").tags
    tags1 = show_model(tracking, f"{cfg.name}/1").tags
    assert tags2["tradewind.promotion.decision"] == "rejected"
    assert tags2["tradewind.promotion.reason"] == p.reason
    assert tags2["tradewind.promotion.metric"].startswith("sharpe=")
    assert tags2["tradewind.promotion.window"] == f"{WINDOW_START.isoformat()}/{AS_OF.isoformat()}"
    assert tags2["tradewind.promotion.backtest_run_id"] == p.challenger_run_id
    assert tags1["tradewind.promotion.decision"] == "kept"
    assert tags1["tradewind.promotion.backtest_run_id"] == p.champion_run_id
    with engine.connect() as conn:
        kinds = {
            r.id: (r.kind, r.status)
            for r in conn.execute(
                select(RunRow).where(RunRow.id.in_([p.challenger_run_id, p.champion_run_id]))
            )
        }
    assert list(kinds.values()) == [("backtest", "succeeded")] * 2

    # any margin will do: version 3 replaces version 1
    out = retrain(
        engine, cfg, gate(min_margin=-1e9), run_key="week-3", strategies_dir=STRATEGIES, **kw
    )
    assert (out.promotion.decision, out.promotion.champion_version) == ("promoted", "1")
    assert alias_version(tracking, cfg.name, "champion") == "3"
    assert show_model(tracking, f"{cfg.name}/1").tags["tradewind.promotion.decision"] == "replaced"

    # the same run key again: the stored decision, nothing trained, nothing stored
    assert rows(engine) == 3
    again_out = retrain(
        engine, cfg, gate(min_margin=-1e9), run_key="week-2", strategies_dir=STRATEGIES, **kw
    )
    assert not again_out.fresh
    assert again_out.promotion == promotions.get(engine, cfg.name, "week-2")
    assert again_out.promotion.decision == "rejected"
    assert versions(tracking, cfg.name) == ["1", "2", "3"]
    assert rows(engine) == 3
    assert alias_version(tracking, cfg.name, "champion") == "3"


def test_without_a_champion_a_model_failing_the_absolute_checks_is_rejected(
    engine: Engine, tracking: Tracking, tmp_path: Path
) -> None:
    cfg = model(tmp_path, "retrain-few-trades")
    out = retrain(
        engine,
        cfg,
        gate(min_trades=1_000_000),
        run_key="week-1",
        as_of=AS_OF,
        tracking=tracking,
        strategies_dir=STRATEGIES,
    )
    assert out.promotion.decision == "rejected"
    assert "trades, the gate wants at least 1000000" in out.promotion.reason
    assert alias_version(tracking, cfg.name, "champion") is None
    assert alias_version(tracking, cfg.name, "challenger") == "1"
    assert out.promotion.champion_metrics == {}


@pytest.mark.parametrize(
    ("as_of", "min_bars", "says"),
    [
        (datetime(2024, 3, 5, tzinfo=UTC), 100, "no held-out window"),
        (datetime(2024, 3, 12, tzinfo=UTC), 100, "the gate wants at least 100"),
    ],
)
def test_refused_without_a_long_enough_held_out_window_before_training(
    engine: Engine,
    tracking: Tracking,
    tmp_path: Path,
    as_of: datetime,
    min_bars: int,
    says: str,
) -> None:
    cfg = model(tmp_path, "retrain-too-early")
    g = gate(held_out={"min_bars": min_bars, "warmup_bars": 0})
    with pytest.raises(RetrainRefused, match=says):
        retrain(engine, cfg, g, run_key="k", as_of=as_of, tracking=tracking)
    assert versions(tracking, cfg.name) == []
    assert rows(engine) == 0
