"""The champion/challenger gate as a pure function of two backtests' metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tradewind.config.promotion import PromotionGate


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str  # one line: every check with its numbers, or the first that failed


def _num(metrics: Mapping[str, Any], key: str) -> float:
    try:
        return float(metrics.get(key, math.nan))
    except (TypeError, ValueError):
        return math.nan


def judge(
    gate: PromotionGate,
    challenger: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
) -> Verdict:
    """Whether the challenger's held-out ``challenger`` metrics pass ``gate`` against the
    champion's on the same window (None: no champion, only the absolute checks apply)."""
    trades = _num(challenger, "trades")
    trades = 0.0 if math.isnan(trades) else trades
    if trades < gate.min_trades:
        return Verdict(False, f"{trades:.0f} trades, the gate wants at least {gate.min_trades}")
    drawdown = -_num(challenger, "max_drawdown")
    if not drawdown <= gate.max_drawdown:  # NaN fails too
        return Verdict(
            False, f"max drawdown {drawdown:.2%} is deeper than the gate's {gate.max_drawdown:.2%}"
        )
    checks = (
        f"{trades:.0f} trades >= {gate.min_trades}, "
        f"drawdown {drawdown:.2%} <= {gate.max_drawdown:.2%}"
    )
    value = _num(challenger, gate.metric)
    if math.isnan(value):
        return Verdict(False, f"{gate.metric} is not a number on the held-out window")
    if champion is None:
        return Verdict(True, f"no champion yet; {checks}")
    best = _num(champion, gate.metric)
    if math.isnan(best):
        return Verdict(True, f"{gate.metric} {value:.4f}, the champion's is not a number; {checks}")
    margin = value - best
    versus = f"{gate.metric} {value:.4f} vs champion {best:.4f} (margin {margin:+.4f}"
    if margin < gate.min_margin:
        return Verdict(False, f"{versus} < {gate.min_margin:+.4f})")
    return Verdict(True, f"{versus} >= {gate.min_margin:+.4f}); {checks}")
