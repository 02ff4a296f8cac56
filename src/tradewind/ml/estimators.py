"""The scikit-learn pipeline for each ``learner.estimator``, with the config's params checked.

* ``gradient_boosting``: ``HistGradientBoostingClassifier`` (histogram boosting: seconds on
  tens of thousands of rows, where ``GradientBoostingClassifier`` takes minutes).
* ``logistic_regression``: ``StandardScaler`` then ``LogisticRegression`` (``max_iter`` 1000
  by default so the demo converges without warnings).
* ``random_forest``: ``RandomForestClassifier`` on one core (``n_jobs=1``: the machine is
  shared and results do not depend on the thread count).

``learner.params`` are the estimator's keyword arguments over these defaults; a name the
estimator does not take is a ValueError naming it. ``random_state`` is always the config's
``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from tradewind.config.models import Estimator

# estimator -> (class, defaults under the config's params, steps before the model)
_SPECS: dict[Estimator, tuple[type[BaseEstimator], dict[str, Any], Callable[[], list[Any]]]] = {
    Estimator.GRADIENT_BOOSTING: (HistGradientBoostingClassifier, {}, list),
    Estimator.LOGISTIC_REGRESSION: (
        LogisticRegression,
        {"max_iter": 1000},
        lambda: [("scale", StandardScaler())],
    ),
    Estimator.RANDOM_FOREST: (RandomForestClassifier, {"n_jobs": 1}, list),
}


def estimator_params(estimator: Estimator, params: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments the estimator gets (defaults, then ``params``), without
    ``random_state``; ValueError naming any parameter the estimator does not take."""
    cls, defaults, _ = _SPECS[estimator]
    if "random_state" in params:
        raise ValueError(
            f"learner.params.random_state: the {estimator.value} seed is the config's seed; "
            "set seed instead"
        )
    known = set(cls().get_params(deep=False))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"learner.params: {cls.__name__} ({estimator.value}) has no parameter "
            f"{', '.join(unknown)}; it takes {', '.join(sorted(known - {'random_state'}))}"
        )
    return {**defaults, **params}


def make_pipeline(estimator: Estimator, params: Mapping[str, Any], seed: int) -> Pipeline:
    """An unfitted pipeline whose last step, ``model``, is the estimator."""
    cls, _, steps = _SPECS[estimator]
    model = cls(**estimator_params(estimator, params), random_state=seed)
    return Pipeline([*steps(), ("model", model)])
