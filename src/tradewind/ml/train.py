"""Train a supervised model from a ``kind: model`` config with ``learner.type: supervised``.

1. ``build_dataset``: observations and labels per split, no split seeing past its end.
2. Purged k-fold cross-validation on the training split (``learner.cv``; purge defaults to
   the label horizon): per fold accuracy, balanced accuracy and log loss go to ``on_metrics``
   as ``fold_*`` at step = fold (0-based), their means become ``cv_*``.
3. The pipeline is fitted on the whole training split and scored on validation and test
   (``val_*``, ``test_*``): the classification scores on labelled rows and the trading scores
   of its targets on every bar of the split (``ml.evaluate``).

``progress`` hears ``(done, n_splits + 1)``: one unit per cross-validation fold fitted and
scored, one for the final fit. The result is a ``TrainedModel`` (flavor ``sklearn``) for
the registry.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from tradewind.config.models import LabelKind, ModelConfig, SupervisedLearner
from tradewind.domain.progress import Progress
from tradewind.ml.contract import supervised_learner
from tradewind.ml.cv import PurgedKFold
from tradewind.ml.dataset import SupervisedDataset, build_dataset
from tradewind.ml.estimators import estimator_params, make_pipeline
from tradewind.ml.evaluate import check_tradable, classification_metrics, trading_metrics
from tradewind.ml.policy import SklearnPolicy
from tradewind.ml.threads import one_thread
from tradewind.policy import MetricSink, ModelData, TrainedModel

CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "log_loss")
_PREFIX = {"validation": "val", "test": "test"}


def train_supervised(
    cfg: ModelConfig,
    data: ModelData,
    *,
    on_metrics: MetricSink | None = None,
    periods_per_year: float | None = None,
    progress: Progress | None = None,
) -> TrainedModel:
    """Cross-validate, fit and score the pipeline ``cfg.learner`` describes on ``data``
    (OpenMP on one thread: see ``ml.threads``). Trading metrics are annualised on
    ``periods_per_year``, the instrument's bars a year (default: the FX year)."""
    with one_thread():
        return _train(cfg, data, on_metrics, progress, periods_per_year)


def supervised_fits(learner: SupervisedLearner) -> int:
    """The fits a supervised training makes: one per cross-validation fold, then the final."""
    return learner.cv.n_splits + 1


def _train(
    cfg: ModelConfig,
    data: ModelData,
    on_metrics: MetricSink | None,
    progress: Progress | None,
    periods_per_year: float | None = None,
) -> TrainedModel:
    learner = supervised_learner(cfg)
    pipeline = check_supervised(cfg)
    total = supervised_fits(learner)
    if progress is not None:
        progress(0, total)
    ds = build_dataset(cfg, data)
    history = cross_validate(
        pipeline,
        ds,
        learner,
        on_metrics,
        progress=None if progress is None else (lambda done, _: progress(done, total)),
    )
    metrics = {
        f"cv_{name}": float(np.mean([m[f"fold_{name}"] for _, m in history]))
        for name in CLASSIFICATION_METRICS
    }
    fitted = clone(pipeline).fit(ds.train.X, ds.train.y)
    if progress is not None:
        progress(total, total)
    policy = SklearnPolicy(fitted, ds.contract)
    for split, prefix in _PREFIX.items():
        scores = score_split(policy, ds, cfg, split, periods_per_year)
        metrics.update({f"{prefix}_{k}": v for k, v in scores.items()})
    return TrainedModel(
        contract=ds.contract,
        policy=policy,
        flavor="sklearn",
        params=flat_params(cfg, ds),
        metrics=metrics,
        history=history,
    )


def check_supervised(cfg: ModelConfig) -> Pipeline:
    """Every check that needs no data, to run before a training run is recorded: the learner
    is supervised (TypeError), its params exist (ValueError naming them), the vectorised
    engine can price ``env.costs`` (``Unsupported``). Returns the unfitted pipeline."""
    learner = supervised_learner(cfg)
    pipeline = make_pipeline(learner.estimator, learner.params, cfg.seed)
    check_tradable(cfg)
    return pipeline


def cv_purge(learner: SupervisedLearner) -> int:
    """Bars purged before each test fold: ``cv.purge``, or the label horizon when unset."""
    return learner.label.horizon if learner.cv.purge is None else learner.cv.purge


def cross_validate(
    pipeline: Pipeline,
    ds: SupervisedDataset,
    learner: SupervisedLearner,
    on_metrics: MetricSink | None = None,
    *,
    progress: Progress | None = None,
) -> list[tuple[int, dict[str, float]]]:
    """``(fold, {fold_accuracy, fold_balanced_accuracy, fold_log_loss})`` per purged fold of
    the training rows (distances in bars, so dropped rows count as gaps); ``progress`` hears
    ``(folds done, n_splits)`` after each fold."""
    train = ds.train
    splitter = PurgedKFold(
        learner.cv.n_splits, cv_purge(learner), learner.cv.embargo, index=train.rows
    )
    history: list[tuple[int, dict[str, float]]] = []
    for fold, (fit_rows, test_rows) in enumerate(splitter.split(train.X)):
        model = clone(pipeline)
        try:
            model.fit(train.X[fit_rows], train.y[fit_rows])
        except ValueError as exc:
            raise ValueError(f"cross-validation fold {fold}: {exc}") from exc
        proba = model.predict_proba(train.X[test_rows])
        scores = classification_metrics(train.y[test_rows], proba, model.classes_.tolist())
        fold_metrics = {f"fold_{k}": v for k, v in scores.items()}
        history.append((fold, fold_metrics))
        if on_metrics is not None:
            on_metrics(fold_metrics, fold)
        if progress is not None:
            progress(fold + 1, splitter.get_n_splits())
    return history


def score_split(
    policy: SklearnPolicy,
    ds: SupervisedDataset,
    cfg: ModelConfig,
    split: str,
    periods_per_year: float | None = None,
) -> dict[str, float]:
    """Classification scores on the split's labelled rows and trading scores of the policy's
    targets on all of its bars (annualised on ``periods_per_year``, see ``trading_metrics``)."""
    rows = ds.splits[split]
    proba = policy.pipeline.predict_proba(rows.X)
    out = classification_metrics(rows.y, proba, policy.contract.actions.classes)
    sl = ds.data.rows[split]
    tradable = ds.tradable_rows(split)
    targets = np.zeros(sl.stop - sl.start)
    targets[tradable - sl.start] = policy.targets(ds.observations(tradable))
    bars = ds.data.bars.take(np.arange(sl.start, sl.stop))
    out.update(
        trading_metrics(
            cfg,
            bars,
            targets,
            periods_per_year,
            pip_location=ds.data.pip_location,
            units_precision=ds.data.units_precision,
        )
    )
    return out


def flat_params(cfg: ModelConfig, ds: SupervisedDataset) -> dict[str, str | int | float | bool]:
    """What the run was trained with, as flat MLflow params (estimator params as
    ``param_<name>``, the defaults the trainer adds included)."""
    learner = supervised_learner(cfg)
    label = learner.label
    params: dict[str, str | int | float | bool] = {
        "estimator": learner.estimator.value,
        "label_kind": label.kind.value,
        "label_horizon": label.horizon,
    }
    if label.kind is LabelKind.FORWARD_RETURN_SIGN:
        params["label_threshold"] = label.threshold
    else:
        params.update(
            label_up_mult=label.up_mult,
            label_down_mult=label.down_mult,
            label_vol_window=label.vol_window,
        )
    params.update(
        cv_n_splits=learner.cv.n_splits,
        cv_purge=cv_purge(learner),
        cv_embargo=learner.cv.embargo,
        target=learner.target.value,
        min_confidence=learner.min_confidence,
        window=cfg.window,
        seed=cfg.seed,
        rows_train=len(ds.train),
        rows_validation=len(ds.validation),
        rows_test=len(ds.test),
    )
    for name, value in estimator_params(learner.estimator, learner.params).items():
        params[f"param_{name}"] = _flat(value)
    return params


def _flat(value: Any) -> str | int | float | bool:
    if isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True, default=str)
