"""Scores of a supervised model: how well it classifies, and how its targets trade.

Classification: accuracy, balanced accuracy and log loss of class probabilities against the
labels. A label the model never saw counts with probability 0 for it (log loss clips it), so a
split holding a class the training split lacked is scored, not refused.

Trading: the model's target on every bar of a split, traded by the vectorised engine (decided
at bar t's close, filled at t+1 as ``env.fill`` says), with fixed units ``env.max_units``, the
environment's costs and cash, on the instrument's terms from the security master (its pip for a
fixed spread, its unit precision for every order: ``ModelData``), as a backtest of the model
by alias trades it. Bars without a complete window are flat; without
``env.allow_short`` negative targets are flat too.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss

from tradewind.backtest.costs import DEFAULT_PIP_LOCATION, cost_model
from tradewind.backtest.metrics import compute_metrics
from tradewind.backtest.vector import run_vector
from tradewind.config.backtest import BacktestConfig, Sizing, SizingMethod, StrategySpec
from tradewind.config.models import ModelConfig
from tradewind.domain.series import BarSeries

F64 = npt.NDArray[np.float64]

TRADING_METRICS = ("total_return", "sharpe", "max_drawdown", "trades")


def classification_metrics(
    y: npt.ArrayLike, proba: npt.ArrayLike, classes: Sequence[int]
) -> dict[str, float]:
    """``accuracy``, ``balanced_accuracy`` and ``log_loss`` of ``proba`` (rows x ``classes``,
    the model's ``classes_``) against labels ``y``."""
    y_true = np.asarray(y, dtype=np.int64)
    p = np.asarray(proba, dtype=np.float64)
    model_classes = np.asarray(classes, dtype=np.int64)
    labels = np.union1d(model_classes, y_true)
    full = np.zeros((len(p), len(labels)))
    full[:, np.searchsorted(labels, model_classes)] = p
    y_pred = model_classes[p.argmax(axis=1)]
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true": a fold may lack a class; that is fine
        warnings.simplefilter("ignore", UserWarning)
        balanced = balanced_accuracy_score(y_true, y_pred)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced),
        "log_loss": float(log_loss(y_true, full, labels=labels)),
    }


def backtest_config(cfg: ModelConfig) -> BacktestConfig:
    """The vectorised engine's settings for ``cfg``'s environment."""
    return BacktestConfig(
        name=cfg.name,
        instruments=(cfg.instrument,),
        timeframe=cfg.timeframe,
        side=cfg.side,
        features=cfg.features,
        strategies=(StrategySpec(name=cfg.name),),
        cash=cfg.env.cash,
        sizing=Sizing(method=SizingMethod.FIXED_UNITS, value=cfg.env.max_units),
        costs=cfg.env.costs,
        fill=cfg.env.fill,
    )


def check_tradable(cfg: ModelConfig) -> None:
    """Fail before training when the vectorised engine cannot price ``cfg.env.costs``."""
    cost_model(cfg.env.costs)


def trading_metrics(
    cfg: ModelConfig,
    bars: BarSeries,
    targets: npt.ArrayLike,
    periods_per_year: float | None = None,
    *,
    pip_location: int = DEFAULT_PIP_LOCATION,
    units_precision: int | None = None,
) -> dict[str, float]:
    """``total_return``, ``sharpe``, ``max_drawdown`` and ``trades`` (round trips) of
    trading ``targets`` (one per bar of ``bars``, in [-1, 1]) under ``cfg.env``; Sharpe is
    annualised on ``periods_per_year``, the instrument's bars a year (the training pipeline
    looks it up as backtests do; default: the FX year of ``cfg.timeframe``). A fixed spread
    is in pips of ``10**pip_location``; orders are rounded toward zero to
    ``units_precision`` decimals (None: not rounded): the instrument's, as in its backtest."""
    signal = np.nan_to_num(np.asarray(targets, dtype=np.float64), nan=0.0)
    if not cfg.env.allow_short:
        signal = np.maximum(signal, 0.0)
    result = run_vector(
        {cfg.instrument: bars},
        {cfg.instrument: signal},
        backtest_config(cfg),
        cfg.name,
        pip_locations={cfg.instrument: pip_location},
        units_precision=None if units_precision is None else {cfg.instrument: units_precision},
    )
    ppy = cfg.timeframe.periods_per_year if periods_per_year is None else periods_per_year
    metrics = compute_metrics(result, ppy)
    return {k: float(metrics[k]) for k in TRADING_METRICS}
