"""The champion/challenger gate (``kind: gate``): what a retrained model trains on, and when it
replaces the champion.

``splits`` says what the challenger trains on. ``mode: fixed`` keeps the model config's own
split dates (every retraining then sees the same bars). ``mode: rolling`` replaces them
relative to the run's date T (aligned down to the model's timeframe grid): held out
``[T - held_out_days, T)``, validation the ``validation_days`` before that, train the
``train_days`` before that; the model config's ``test`` split becomes the held-out window, so
the challenger neither trains nor validates on it. Whole weeks keep every boundary at the
weekly run's hour (Sunday 00:00 UTC for ``@weekly``, inside the FX weekend).

A challenger is backtested by version on a held-out window that neither it nor the champion
trained or validated on (from the bar after the later of their validation ends, and not
before the rolled held-out start, up to the retraining run's date), the champion on the same
window. The challenger becomes champion
when it passes every check: at least ``min_trades`` trades, a maximum drawdown no
deeper than ``max_drawdown``, and ``metric`` at least ``min_margin`` above the champion's.
With no champion yet, the first challenger that passes the first two becomes champion.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from tradewind.config.base import FrozenModel

# Backtest metrics (tradewind.backtest.metrics) where higher is better.
GateMetric = Literal["sharpe", "sortino", "calmar", "total_return", "annual_return"]


class HeldOutWindow(FrozenModel):
    """How the comparison window is checked and prepared."""

    min_bars: int = Field(default=200, ge=1)  # a shorter window is refused, not judged
    # bars before the window the features warm up on (never traded), as in training
    warmup_bars: int = Field(default=500, ge=0)


class FixedSplits(FrozenModel):
    """Train on the model config's own split dates."""

    mode: Literal["fixed"] = "fixed"


class RollingSplits(FrozenModel):
    """Train on the days before the run's date: train, then validation, then held out."""

    mode: Literal["rolling"] = "rolling"
    train_days: int = Field(ge=1, le=36_500)
    validation_days: int = Field(ge=1, le=36_500)
    held_out_days: int = Field(ge=1, le=36_500)


RetrainSplits = Annotated[FixedSplits | RollingSplits, Field(discriminator="mode")]


class PromotionGate(FrozenModel):
    kind: Literal["gate"] = "gate"
    name: str = Field(default="default", min_length=1, max_length=100)
    metric: GateMetric = "sharpe"
    min_margin: float = 0.0  # challenger's metric minus the champion's, at least this
    min_trades: int = Field(default=1, ge=0)
    max_drawdown: float = Field(default=0.2, gt=0, le=1)  # a fraction of equity: 0.2 = 20 %
    held_out: HeldOutWindow = HeldOutWindow()
    splits: RetrainSplits = FixedSplits()  # a gate file without it keeps the config's dates
