"""The contract of a supervised model: what it reads and how its class probabilities trade."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tradewind.config.models import ModelConfig, SupervisedLearner
from tradewind.policy import ActionMap, FeatureScaler, ModelContract, ModelData

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_utc(ts_us: int) -> str:
    """Epoch microseconds as an ISO 8601 UTC string (exact, no float rounding)."""
    return (_EPOCH + timedelta(microseconds=int(ts_us))).isoformat()


def supervised_learner(cfg: ModelConfig) -> SupervisedLearner:
    """``cfg.learner``, or a TypeError when the config trains an RL agent instead."""
    if not isinstance(cfg.learner, SupervisedLearner):
        raise TypeError(
            f"model config {cfg.name} has learner.type {cfg.learner.type!r}; "
            "the supervised trainer needs learner.type supervised"
        )
    return cfg.learner


def supervised_contract(
    cfg: ModelConfig, data: ModelData, scaler: FeatureScaler, classes: Sequence[int]
) -> ModelContract:
    """The contract of a model trained by ``cfg`` on ``data``: no position state and no
    VecNormalize statistics; class probabilities over ``classes`` (the label values the
    training rows hold, sorted, as scikit-learn's ``classes_``) map to targets by
    ``learner.target``. ``train_start``/``train_end`` are the first and last bar open times of
    the training split."""
    learner = supervised_learner(cfg)
    train = data.rows["train"]
    ts = data.bars.ts
    return ModelContract(
        kind="supervised",
        algo=learner.estimator.value,
        instrument=cfg.instrument,
        timeframe=cfg.timeframe,
        side=cfg.side,
        feature_spec_fingerprint=data.feature_spec_fingerprint,
        feature_columns=data.columns,
        window=cfg.window,
        position_state=False,
        time_scale=cfg.env.time_scale,
        max_units=cfg.env.max_units,
        scaler=scaler,
        obs_normaliser=None,
        actions=ActionMap(
            kind="classes",
            classes=tuple(int(c) for c in classes),
            mapping=learner.target.value,
            min_confidence=learner.min_confidence,
        ),
        config_fingerprint=cfg.fingerprint,
        train_start=iso_utc(ts[train.start]),
        train_end=iso_utc(ts[train.stop - 1]),
    )
