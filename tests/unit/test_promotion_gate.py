"""The champion/challenger gate on given metrics, and its config."""

from __future__ import annotations

import math

import pytest

from tradewind.config import ConfigError, parse_config
from tradewind.config.promotion import PromotionGate
from tradewind.pipelines.gate import judge

GATE = PromotionGate(metric="sharpe", min_margin=0.1, min_trades=5, max_drawdown=0.1)
GOOD = {"trades": 8.0, "max_drawdown": -0.05, "sharpe": 1.2}


def test_beating_the_champion_by_the_margin_promotes() -> None:
    verdict = judge(GATE, GOOD, {"sharpe": 1.0})
    assert verdict.passed
    assert verdict.reason.startswith("sharpe 1.2000 vs champion 1.0000 (margin +0.2000 >= +0.1000)")


def test_a_margin_too_small_rejects() -> None:
    verdict = judge(GATE, GOOD, {"sharpe": 1.15})
    assert not verdict.passed
    assert "margin +0.0500 < +0.1000" in verdict.reason


@pytest.mark.parametrize(
    ("metrics", "says"),
    [
        ({**GOOD, "trades": 4.0}, "4 trades, the gate wants at least 5"),
        ({**GOOD, "max_drawdown": -0.25}, "max drawdown 25.00% is deeper than the gate's 10.00%"),
        ({**GOOD, "max_drawdown": math.nan}, "max drawdown nan% is deeper"),
        ({**GOOD, "sharpe": math.nan}, "sharpe is not a number"),
        ({"max_drawdown": -0.01, "sharpe": 3.0}, "0 trades, the gate"),
    ],
)
def test_absolute_checks_reject_with_or_without_a_champion(metrics: dict, says: str) -> None:
    for champion in (None, {"sharpe": -5.0}):
        verdict = judge(GATE, metrics, champion)
        assert not verdict.passed
        assert says in verdict.reason


def test_no_champion_needs_only_the_absolute_checks() -> None:
    verdict = judge(GATE, {**GOOD, "sharpe": -3.0}, None)
    assert verdict.passed
    assert verdict.reason.startswith("no champion yet; 8 trades >= 5")


def test_a_champion_without_a_number_is_beaten_by_one_with_a_number() -> None:
    assert judge(GATE, GOOD, {"sharpe": "nan"}).passed


def test_the_gate_config_is_frozen_and_strict() -> None:
    gate = parse_config({"kind": "gate", "metric": "total_return", "min_margin": 0.01})
    assert isinstance(gate, PromotionGate)
    assert gate.held_out.min_bars == 200
    with pytest.raises(ConfigError, match="metric"):
        parse_config({"kind": "gate", "metric": "profit"})
    with pytest.raises(ConfigError, match="surprise"):
        parse_config({"kind": "gate", "surprise": 1})
    with pytest.raises(ConfigError, match="max_drawdown"):
        parse_config({"kind": "gate", "max_drawdown": 1.5})
