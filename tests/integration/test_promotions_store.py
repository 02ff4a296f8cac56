"""The ``model_promotions`` repository on SQLite and Postgres: one decision per model and run
key, the first kept, read back exactly (times in UTC, JSON intact)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from tradewind.storage import promotions
from tradewind.storage.promotions import Promotion

DECISION = Promotion(
    model_name="m",
    run_key="2024-04-15T00:00:00+00:00",
    challenger_version="2",
    champion_version="1",
    decision="rejected",
    reason="sharpe 0.1 vs champion 0.3 (margin -0.2 < +0.1)",
    gate={"metric": "sharpe", "min_margin": 0.1},
    challenger_metrics={"sharpe": 0.1, "calmar": "nan"},
    champion_metrics={"sharpe": 0.3},
    window_start=datetime(2024, 3, 8, 21, tzinfo=UTC),
    window_end=datetime(2024, 4, 15, tzinfo=UTC),
    challenger_run_id="a" * 36,
    champion_run_id="b" * 36,
    decided_at=datetime(2024, 4, 15, 0, 5, tzinfo=UTC),
)


def test_the_first_decision_of_a_run_key_is_kept(db_engine: Engine) -> None:
    assert promotions.get(db_engine, "m", DECISION.run_key) is None
    stored, fresh = promotions.record(db_engine, DECISION)
    assert fresh
    assert stored == DECISION
    again, fresh = promotions.record(db_engine, replace(DECISION, decision="promoted"))
    assert not fresh
    assert again == DECISION
    later = replace(DECISION, run_key="2024-04-22T00:00:00+00:00", champion_version=None)
    assert promotions.record(db_engine, later) == (later, True)
    assert promotions.history(db_engine, "m") == [DECISION, later]
    assert promotions.history(db_engine, "other") == []


def test_an_unknown_decision_is_refused(db_engine: Engine) -> None:
    with pytest.raises(ValueError, match="decision 'maybe'"):
        promotions.record(db_engine, replace(DECISION, decision="maybe"))
