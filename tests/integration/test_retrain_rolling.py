"""Rolling retrain splits through the real pipeline (SQLite and Postgres, the embedded MLflow
store, real training and Backtrader backtests): each weekly challenger trains on the weeks
before its run's date, and is judged on exactly the rolled held-out window unless the champion
saw part of it.

The synthetic EUR_USD H1 bars run from 2024-01-01 to 2024-05-24 with FX weekends left out
(Friday 21:00 to Sunday 21:00 UTC), so a range starting on a Sunday 00:00 has its first bar
at 21:00 that day and a range ending on one its last bar on the Friday at 20:00."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from retrain_support import STRATEGIES, gate, seed, write_model_config
from sqlalchemy import Engine

from tradewind.config import load_config
from tradewind.config.models import ModelConfig
from tradewind.pipelines.retrain import RetrainRefused, retrain
from tradewind.registry import resolve_tracking
from tradewind.registry.tracking import Tracking
from tradewind.registry.versions import alias_version, run_artifact_text, version_tags

WEEKS = {"mode": "rolling", "train_days": 35, "validation_days": 14, "held_out_days": 14}


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    seed(db_engine)
    return db_engine


@pytest.fixture
def tracking(tmp_path: Path) -> Tracking:
    return resolve_tracking(tmp_path / "home", environ={})


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def model(tmp_path: Path, name: str) -> ModelConfig:
    return load_config(write_model_config(tmp_path, name), ModelConfig)


def data_range(tracking: Tracking, name: str, version: str) -> dict[str, Any]:
    text = run_artifact_text(tracking, name, version, "data_range.json")
    assert text is not None
    return json.loads(text)


def bars(rng: dict[str, Any], split: str) -> tuple[str, str]:
    return rng[split]["first_bar"], rng[split]["last_bar"]


def logged_config(tracking: Tracking, name: str, version: str) -> ModelConfig:
    text = run_artifact_text(tracking, name, version, "config/model.yaml")
    assert text is not None
    return ModelConfig.model_validate(yaml.safe_load(text))


def test_weekly_challengers_train_on_later_windows_and_are_judged_on_the_rolled_one(
    engine: Engine, tracking: Tracking, tmp_path: Path
) -> None:
    cfg = model(tmp_path, "rolling-logreg")
    g = gate(splits=WEEKS)
    kw: dict[str, Any] = {"tracking": tracking, "strategies_dir": STRATEGIES}

    # a run late on a Sunday night is aligned down to its hour: T = 2024-04-14 00:00
    first = retrain(engine, cfg, g, run_key="w15", as_of=utc(2024, 4, 14, 0, 30), **kw).promotion
    assert (first.decision, first.champion_version) == ("promoted", None)
    assert (first.window_start, first.window_end) == (utc(2024, 3, 31), utc(2024, 4, 14))
    r1 = data_range(tracking, cfg.name, "1")
    assert bars(r1, "train") == ("2024-02-11T21:00:00+00:00", "2024-03-15T20:00:00+00:00")
    assert bars(r1, "validation") == ("2024-03-17T21:00:00+00:00", "2024-03-29T20:00:00+00:00")
    assert bars(r1, "test") == ("2024-03-31T21:00:00+00:00", "2024-04-12T20:00:00+00:00")

    # three weeks later: trained on bars three weeks later, judged with the champion on the
    # new held-out window (the champion's data ends long before it)
    second = retrain(engine, cfg, g, run_key="w18", as_of=utc(2024, 5, 5), **kw).promotion
    assert (second.challenger_version, second.champion_version) == ("2", "1")
    assert (second.window_start, second.window_end) == (utc(2024, 4, 21), utc(2024, 5, 5))
    assert second.champion_run_id
    r2 = data_range(tracking, cfg.name, "2")
    assert bars(r2, "train") == ("2024-03-03T21:00:00+00:00", "2024-04-05T20:00:00+00:00")
    assert bars(r2, "validation") == ("2024-04-07T21:00:00+00:00", "2024-04-19T20:00:00+00:00")
    assert bars(r2, "test") == ("2024-04-21T21:00:00+00:00", "2024-05-03T20:00:00+00:00")

    # the rolled configs are what was logged: the model config with only its splits replaced
    for version, t in (("1", utc(2024, 4, 14)), ("2", utc(2024, 5, 5))):
        logged = logged_config(tracking, cfg.name, version)
        assert logged.splits.test.end == t
        assert logged.model_dump(exclude={"splits"}) == cfg.model_dump(exclude={"splits"})
        tags = version_tags(tracking, cfg.name, version)
        assert tags["tradewind.retrain.splits"].startswith("rolling train=")
        assert (
            f"held_out={logged.splits.test.start.isoformat()}/{t.isoformat()}"
            in (tags["tradewind.retrain.splits"])
        )
    fingerprints = {
        cfg.fingerprint,
        logged_config(tracking, cfg.name, "1").fingerprint,
        logged_config(tracking, cfg.name, "2").fingerprint,
    }
    assert len(fingerprints) == 3


def test_a_champion_that_saw_part_of_the_rolled_window_moves_its_start_or_refuses(
    engine: Engine, tracking: Tracking, tmp_path: Path
) -> None:
    cfg = model(tmp_path, "rolling-overlap")
    kw: dict[str, Any] = {"tracking": tracking, "strategies_dir": STRATEGIES}
    # the champion held out one week before Wednesday 2024-04-17: it validated up to 04-10
    short = gate(splits={**WEEKS, "held_out_days": 7})
    champ = retrain(engine, cfg, short, run_key="wed", as_of=utc(2024, 4, 17), **kw).promotion
    assert (champ.decision, champ.window_start) == ("promoted", utc(2024, 4, 10))
    assert data_range(tracking, cfg.name, "1")["validation"]["last_bar"] == (
        "2024-04-09T23:00:00+00:00"
    )

    # now two weeks held out before Monday 2024-04-22: the rolled window [04-08, 04-22) starts
    # before the champion's last validation bar, so the comparison starts after that bar.
    # 192 bars remain: a gate wanting 200 refuses, without training (the rolled window alone
    # has 240)
    says = r"has 192 H1 bars, the gate wants at least 200 \(a model saw bars up to 2024-04-09T23"
    with pytest.raises(RetrainRefused, match=says):
        retrain(
            engine,
            cfg,
            gate(splits=WEEKS, held_out={"min_bars": 200, "warmup_bars": 300}),
            run_key="mon",
            as_of=utc(2024, 4, 22),
            **kw,
        )
    assert alias_version(tracking, cfg.name, "champion") == "1"
    versions = tracking.client().search_model_versions(f"name='{cfg.name}'")
    assert [str(v.version) for v in versions] == ["1"]

    # a gate content with 100 judges both on the later window
    out = retrain(engine, cfg, gate(splits=WEEKS), run_key="mon", as_of=utc(2024, 4, 22), **kw)
    p = out.promotion
    assert (p.challenger_version, p.champion_version) == ("2", "1")
    assert (p.window_start, p.window_end) == (utc(2024, 4, 10), utc(2024, 4, 22))
    assert data_range(tracking, cfg.name, "2")["test"]["first_bar"] == ("2024-04-08T00:00:00+00:00")
    assert version_tags(tracking, cfg.name, "1")["tradewind.promotion.window"] == (
        f"{utc(2024, 4, 10).isoformat()}/{utc(2024, 4, 22).isoformat()}"
    )
