"""Rolling retrain splits: the gate's ``splits`` section and the dates it rolls a model to."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradewind.config import ConfigError, load_config, parse_config
from tradewind.config.models import ModelConfig
from tradewind.config.promotion import FixedSplits, PromotionGate, RollingSplits
from tradewind.domain import Timeframe
from tradewind.pipelines.rolling import grid_floor, retrain_plan, rolled_splits

REPO = Path(__file__).resolve().parents[2]
ROLL = {"mode": "rolling", "train_days": 35, "validation_days": 14, "held_out_days": 14}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_a_gate_without_splits_keeps_the_config_dates_and_rolling_is_strict() -> None:
    assert parse_config({"kind": "gate"}).splits == FixedSplits()  # type: ignore[union-attr]
    gate = parse_config({"kind": "gate", "splits": ROLL})
    assert isinstance(gate, PromotionGate)
    assert gate.splits == RollingSplits(train_days=35, validation_days=14, held_out_days=14)
    with pytest.raises(ConfigError, match="held_out_days"):
        parse_config({"kind": "gate", "splits": {**ROLL, "held_out_days": 0}})
    with pytest.raises(ConfigError, match="train_days"):
        parse_config({"kind": "gate", "splits": {"mode": "rolling", "validation_days": 1}})
    with pytest.raises(ConfigError, match="weeks"):
        parse_config({"kind": "gate", "splits": {**ROLL, "weeks": 3}})
    with pytest.raises(ConfigError, match="mode"):
        parse_config({"kind": "gate", "splits": {"mode": "expanding"}})
    with pytest.raises(ConfigError, match="train_days"):
        parse_config({"kind": "gate", "splits": {"mode": "fixed", "train_days": 3}})


@pytest.mark.parametrize(
    ("when", "timeframe", "floor"),
    [
        (utc(2024, 4, 14, 0, 37, 5), Timeframe.H1, utc(2024, 4, 14)),
        (utc(2024, 4, 14, 7, 59), Timeframe.H4, utc(2024, 4, 14, 4)),
        (utc(2024, 4, 14, 7, 59), Timeframe.M15, utc(2024, 4, 14, 7, 45)),
        (utc(2024, 4, 14, 23), Timeframe.D, utc(2024, 4, 14)),
        (utc(2024, 4, 14, 4), Timeframe.H4, utc(2024, 4, 14, 4)),
    ],
)
def test_the_run_date_is_aligned_down_to_the_grid(
    when: datetime, timeframe: Timeframe, floor: datetime
) -> None:
    assert grid_floor(when, timeframe) == floor


def test_splits_roll_back_from_the_aligned_run_date() -> None:
    s = rolled_splits(Timeframe.H1, RollingSplits(**ROLL), utc(2024, 4, 14, 0, 30))
    assert (s.test.start, s.test.end) == (utc(2024, 3, 31), utc(2024, 4, 14))
    assert (s.validation.start, s.validation.end) == (utc(2024, 3, 17), utc(2024, 3, 31))
    assert (s.train.start, s.train.end) == (utc(2024, 2, 11), utc(2024, 3, 17))


def test_the_default_gate_rolls_the_shipped_config_lengths_and_changes_its_fingerprint() -> None:
    gate = load_config(REPO / "configs" / "gates" / "default.yaml", PromotionGate)
    cfg = load_config(REPO / "configs" / "models" / "gbm_eurusd_h1.yaml", ModelConfig)
    plan = retrain_plan(cfg, gate, utc(2024, 10, 20))
    s = plan.cfg.splits
    assert (s.train.end - s.train.start).days == 175  # the config's 2024-01-01 .. 06-24
    assert (s.validation.end - s.validation.start).days == 56  # its 57 days, whole weeks
    assert (s.test.start, s.test.end) == (utc(2024, 8, 25), utc(2024, 10, 20))
    assert (plan.not_before, plan.end) == (s.test.start, s.test.end)
    assert plan.cfg.fingerprint != cfg.fingerprint
    assert plan.cfg.model_dump(exclude={"splits"}) == cfg.model_dump(exclude={"splits"})
    fixed = retrain_plan(cfg, gate.model_copy(update={"splits": FixedSplits()}), utc(2024, 10, 20))
    assert (fixed.cfg, fixed.not_before, fixed.end) == (cfg, None, utc(2024, 10, 20))
