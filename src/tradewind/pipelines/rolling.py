"""What a retraining trains on: the model config's own splits, or splits rolled to the run's date.

A gate with ``splits.mode: rolling`` (``tradewind.config.promotion.RollingSplits``) replaces
the model config's split dates relative to the run's date T, aligned down to the model's
timeframe grid (so the held-out window never ends inside a bar):

    held out    [T - held_out_days, T)        = the rolled config's ``test`` split
    validation  the ``validation_days`` before the held-out start
    train       the ``train_days`` before the validation start

The rolled config is the one trained, logged and registered (its fingerprint and its
``data_range.json`` are the rolled ones). ``mode: fixed`` keeps the config as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tradewind.config.models import ModelConfig, Split, Splits
from tradewind.config.promotion import PromotionGate, RollingSplits
from tradewind.domain import Timeframe
from tradewind.pipelines.heldout import as_utc


@dataclass(frozen=True)
class RetrainPlan:
    """The config a retraining trains, and the bounds of its held-out window."""

    cfg: ModelConfig
    end: datetime  # the held-out window's end (exclusive)
    not_before: datetime | None  # rolling: the held-out window starts no earlier than this

    @property
    def rolling(self) -> bool:
        return self.not_before is not None


def grid_floor(when: datetime, timeframe: Timeframe) -> datetime:
    """``when`` aligned down to the timeframe's grid (whole periods since the Unix epoch)."""
    seconds = int(as_utc(when).timestamp())
    return datetime.fromtimestamp(seconds - seconds % timeframe.seconds, UTC)


def rolled_splits(timeframe: Timeframe, rolling: RollingSplits, as_of: datetime) -> Splits:
    """Train, validation and held-out (test) ranges ending at ``as_of`` on the grid."""
    end = grid_floor(as_of, timeframe)
    held_out = end - timedelta(days=rolling.held_out_days)
    validation = held_out - timedelta(days=rolling.validation_days)
    train = validation - timedelta(days=rolling.train_days)
    return Splits(
        train=Split(start=train, end=validation),
        validation=Split(start=validation, end=held_out),
        test=Split(start=held_out, end=end),
    )


def retrain_plan(cfg: ModelConfig, gate: PromotionGate, as_of: datetime) -> RetrainPlan:
    """The config to train for a run dated ``as_of`` under ``gate`` and its window bounds."""
    if not isinstance(gate.splits, RollingSplits):
        return RetrainPlan(cfg, as_utc(as_of), None)
    splits = rolled_splits(cfg.timeframe, gate.splits, as_of)
    rolled = ModelConfig.model_validate({**cfg.model_dump(), "splits": splits})
    return RetrainPlan(rolled, splits.test.end, splits.test.start)


__all__ = ["RetrainPlan", "grid_floor", "retrain_plan", "rolled_splits"]
