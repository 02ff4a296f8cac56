"""Supervised models: scikit-learn pipelines with purged time-series cross-validation.

``train_supervised(cfg, data)`` turns a ``kind: model`` config with ``learner.type:
supervised`` and its ``ModelData`` into a ``TrainedModel``; ``load_sklearn_policy`` reads a
saved one back. Imports the model core, features, backtest and config layers only.
"""

from tradewind.ml.contract import supervised_contract
from tradewind.ml.cv import PurgedKFold
from tradewind.ml.dataset import LabelledRows, SupervisedDataset, build_dataset, make_labels
from tradewind.ml.estimators import make_pipeline
from tradewind.ml.evaluate import classification_metrics, trading_metrics
from tradewind.ml.policy import SklearnPolicy, SklearnVersionWarning, load_sklearn_policy
from tradewind.ml.train import check_supervised, cross_validate, train_supervised

__all__ = [
    "LabelledRows",
    "PurgedKFold",
    "SklearnPolicy",
    "SklearnVersionWarning",
    "SupervisedDataset",
    "build_dataset",
    "check_supervised",
    "classification_metrics",
    "cross_validate",
    "load_sklearn_policy",
    "make_labels",
    "make_pipeline",
    "supervised_contract",
    "trading_metrics",
    "train_supervised",
]
