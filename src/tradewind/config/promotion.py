"""The champion/challenger gate (``kind: gate``): when a retrained model replaces the champion.

A challenger is backtested by version on a held-out window that neither it nor the champion
trained or validated on (from the bar after the later of their validation ends up to the
retraining run's date), the champion on the same window. The challenger becomes champion
when it passes every check: at least ``min_trades`` closed trades, a maximum drawdown no
deeper than ``max_drawdown``, and ``metric`` at least ``min_margin`` above the champion's.
With no champion yet, the first challenger that passes the first two becomes champion.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tradewind.config.base import FrozenModel

# Backtest metrics (tradewind.backtest.metrics) where higher is better.
GateMetric = Literal["sharpe", "sortino", "calmar", "total_return", "annual_return"]


class HeldOutWindow(FrozenModel):
    """How the comparison window is checked and prepared."""

    min_bars: int = Field(default=200, ge=1)  # a shorter window is refused, not judged
    # bars before the window the features warm up on (never traded), as in training
    warmup_bars: int = Field(default=500, ge=0)


class PromotionGate(FrozenModel):
    kind: Literal["gate"] = "gate"
    name: str = Field(default="default", min_length=1, max_length=100)
    metric: GateMetric = "sharpe"
    min_margin: float = 0.0  # challenger's metric minus the champion's, at least this
    min_trades: int = Field(default=1, ge=0)
    max_drawdown: float = Field(default=0.2, gt=0, le=1)  # a fraction of equity: 0.2 = 20 %
    held_out: HeldOutWindow = HeldOutWindow()
