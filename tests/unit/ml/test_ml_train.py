"""train_supervised: each estimator trains, the run is deterministic under a seed, metrics and
params are reported, target mappings and bad params behave."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tradewind.config import load_config
from tradewind.config.models import ModelConfig, Splits
from tradewind.domain.errors import Unsupported
from tradewind.domain.series import BarSeries
from tradewind.ml import SklearnPolicy, build_dataset, check_supervised, train_supervised
from tradewind.ml.evaluate import classification_metrics, trading_metrics
from tradewind.policy import ActionMap, ModelData, SavablePolicy, TrainedModel

MakeConfig = Callable[..., ModelConfig]
MakeData = Callable[[BarSeries, ModelConfig], ModelData]

SPLIT_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "log_loss",
    "total_return",
    "sharpe",
    "max_drawdown",
    "trades",
)


def test_trained_model_hand_off(
    trained: TrainedModel, config: ModelConfig, data: ModelData
) -> None:
    c = trained.contract
    assert trained.flavor == "sklearn"
    assert isinstance(trained.policy, SavablePolicy)
    assert c.kind == "supervised"
    assert c.algo == "gradient_boosting"
    assert not c.position_state
    assert c.obs_normaliser is None
    assert c.actions.kind == "classes"
    assert c.actions.mapping == "expected"
    assert c.actions.classes == tuple(trained.policy.pipeline.classes_.tolist())  # type: ignore[attr-defined]
    assert c.feature_columns == data.columns
    assert c.feature_spec_fingerprint == data.feature_spec_fingerprint
    assert c.config_fingerprint == config.fingerprint
    assert c.train_start.startswith("2024-01-01T00:00:00")
    assert c.obs_dim == config.window * len(data.columns)
    want = {f"cv_{k}" for k in ("accuracy", "balanced_accuracy", "log_loss")}
    want |= {f"{p}_{k}" for p in ("val", "test") for k in SPLIT_METRICS}
    assert set(trained.metrics) == want
    assert 0 <= trained.metrics["val_accuracy"] <= 1
    assert trained.metrics["test_max_drawdown"] <= 0
    assert [step for step, _ in trained.history] == [0, 1, 2]
    p = trained.params
    assert p["estimator"] == "gradient_boosting"
    assert p["label_kind"] == "forward_return_sign"
    assert (p["label_horizon"], p["cv_purge"], p["cv_embargo"], p["cv_n_splits"]) == (4, 4, 2, 3)
    assert (p["window"], p["seed"], p["param_max_iter"]) == (3, 3, 20)
    assert all(isinstance(v, str | int | float | bool) for v in p.values())


def test_metric_sink_gets_every_fold(config: ModelConfig, data: ModelData) -> None:
    seen: list[tuple[int, dict[str, float]]] = []
    trained = train_supervised(
        config, data, on_metrics=lambda m, step: seen.append((step, dict(m)))
    )
    assert seen == trained.history
    assert set(seen[0][1]) == {"fold_accuracy", "fold_balanced_accuracy", "fold_log_loss"}
    mean = np.mean([m["fold_log_loss"] for _, m in seen])
    assert trained.metrics["cv_log_loss"] == pytest.approx(mean)


def test_deterministic_under_a_seed(
    trained: TrainedModel, config: ModelConfig, data: ModelData
) -> None:
    again = train_supervised(config, data)
    assert again.metrics == trained.metrics
    assert again.contract == trained.contract
    X = build_dataset(config, data).test.X
    np.testing.assert_array_equal(again.policy.targets(X), trained.policy.targets(X))


@pytest.mark.parametrize(
    ("estimator", "params"),
    [
        ("logistic_regression", {"C": 0.5}),
        ("random_forest", {"n_estimators": 15, "max_depth": 4}),
    ],
)
def test_other_estimators_train(
    make_config: MakeConfig, data: ModelData, estimator: str, params: dict[str, Any]
) -> None:
    cfg = make_config(learner={"estimator": estimator, "params": params, "target": "argmax"})
    trained = train_supervised(cfg, data)
    assert trained.contract.algo == estimator
    assert trained.contract.actions.mapping == "argmax"
    X = build_dataset(cfg, data).validation.X
    t = trained.policy.targets(X)
    assert set(np.unique(t)) <= {-1.0, 0.0, 1.0}
    assert np.isfinite(trained.metrics["val_log_loss"])


def test_bad_params_are_named(make_config: MakeConfig, data: ModelData) -> None:
    cfg = make_config(learner={"params": {"max_iter": 5, "n_trees": 3, "depth": 2}})
    with pytest.raises(
        ValueError, match=r"HistGradientBoostingClassifier .* no parameter depth, n_trees"
    ):
        train_supervised(cfg, data)
    cfg = make_config(learner={"params": {"random_state": 1}})
    with pytest.raises(ValueError, match="set seed instead"):
        check_supervised(cfg)


def test_unsupported_costs_fail_before_training(make_config: MakeConfig, data: ModelData) -> None:
    cfg = make_config(env={"costs": {"spread": "data"}})
    with pytest.raises(Unsupported, match="spread='data'"):
        train_supervised(cfg, data)


def test_target_mappings(trained: TrainedModel, config: ModelConfig, data: ModelData) -> None:
    policy = trained.policy
    assert isinstance(policy, SklearnPolicy)
    X = build_dataset(config, data).test.X
    proba = policy.pipeline.predict_proba(X)
    classes = np.asarray(policy.contract.actions.classes, dtype=np.float64)
    np.testing.assert_allclose(policy.targets(X), proba @ classes)
    conf = float(np.median(proba.max(axis=1)))
    actions = ActionMap(
        kind="classes",
        classes=policy.contract.actions.classes,
        mapping="argmax",
        min_confidence=conf,
    )
    argmax = policy.contract.model_copy(update={"actions": actions})
    t = SklearnPolicy(policy.pipeline, argmax).targets(X)
    best = proba.argmax(axis=1)
    sure = proba.max(axis=1) >= conf
    np.testing.assert_array_equal(t, np.where(sure, classes[best], 0.0))
    assert sure.any()
    assert not sure.all()


def test_two_class_model(trained: TrainedModel, config: ModelConfig, data: ModelData) -> None:
    ds = build_dataset(config, data)
    keep = ds.train.y != 0
    model = LogisticRegression().fit(ds.train.X[keep], ds.train.y[keep])
    contract = ds.contract.model_copy(
        update={"actions": ActionMap(kind="classes", classes=(-1, 1), mapping="expected")}
    )
    t = SklearnPolicy(model, contract).targets(ds.test.X)
    p = model.predict_proba(ds.test.X)
    np.testing.assert_allclose(t, p[:, 1] - p[:, 0])
    scores = classification_metrics(ds.test.y, p, [-1, 1])  # labels 0 the model never saw
    assert np.isfinite(scores["log_loss"])


def test_trading_metrics_flat_and_long_only(make_config: MakeConfig, data: ModelData) -> None:
    cfg = make_config()
    bars = data.bars.take(np.arange(100))
    flat = trading_metrics(cfg, bars, np.zeros(100))
    assert flat["total_return"] == 0
    assert flat["trades"] == 0
    short = np.r_[np.full(50, -1.0), np.zeros(50)]
    assert trading_metrics(cfg, bars, short)["trades"] == 1
    long_only = make_config(env={"allow_short": False})
    assert trading_metrics(long_only, bars, short)["trades"] == 0


@pytest.mark.parametrize("name", ["gbm_eurusd_h1", "logreg_eurusd_h1"])
def test_example_configs_load(name: str) -> None:
    repo = Path(__file__).resolve().parents[3]
    cfg = load_config(repo / "configs/models" / f"{name}.yaml", ModelConfig)
    check_supervised(cfg)
    ppo = repo / "configs/models/ppo_eurusd_h1.yaml"
    if ppo.is_file():  # the RL demo trains and scores on the same dates (naive = UTC)
        assert _instants(load_config(ppo, ModelConfig).splits) == _instants(cfg.splits)


def _instants(splits: Splits) -> list[datetime]:
    out = []
    for name in ("train", "validation", "test"):
        for d in (getattr(splits, name).start, getattr(splits, name).end):
            out.append(d if d.tzinfo else d.replace(tzinfo=UTC))
    return out


def test_trading_metrics_annualise_on_the_given_year(
    make_config: MakeConfig, data: ModelData
) -> None:
    """An equity's hourly bars (XNYS: 252 days of 7 bars) annualise on its year, not FX's."""
    cfg = make_config()
    bars = data.bars.take(np.arange(200))
    target = np.r_[np.full(60, 1.0), np.full(80, -1.0), np.zeros(60)]
    fx = trading_metrics(cfg, bars, target)["sharpe"]
    xnys = trading_metrics(cfg, bars, target, 252 * 7)["sharpe"]
    assert fx != 0
    assert xnys == pytest.approx(fx * math.sqrt(252 * 7 / cfg.timeframe.periods_per_year))
