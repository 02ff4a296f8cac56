"""Seeding for the retraining tests: a security master with synthetic EUR_USD H1 mid bars
from 2024-01-01 to late May 2024 (the small logistic regression of ``model_support`` trains
on January to early March and validates up to 2024-03-10, so March to May is held out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from model_support import small_logreg
from sqlalchemy import Engine

from tradewind.config import SyntheticConfig
from tradewind.config.promotion import PromotionGate
from tradewind.domain import PriceSide
from tradewind.pipelines.setup import initialise, load_universe
from tradewind.pipelines.synthetic import synthesize_to_db

REPO = Path(__file__).resolve().parents[2]
STRATEGIES = REPO / "strategies"
BARS = 2500


def seed(engine: Engine) -> None:
    initialise(engine, load_universe(REPO / "configs" / "universe" / "fx_majors.yaml"))
    synthesize_to_db(engine, SyntheticConfig(bars=BARS, seed=3), (PriceSide.MID,))


def gate(**changes: Any) -> PromotionGate:
    """A gate every model passes unless ``changes`` say otherwise."""
    base: dict[str, Any] = {
        "metric": "sharpe",
        "min_margin": -1e9,
        "min_trades": 0,
        "max_drawdown": 1.0,
        "held_out": {"min_bars": 100, "warmup_bars": 300},
    }
    base.update(changes)
    return PromotionGate.model_validate(base)


def write_model_config(folder: Path, name: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(small_logreg(name)), encoding="utf-8")
    return path
