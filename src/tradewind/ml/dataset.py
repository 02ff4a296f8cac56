"""Labelled observations per split, built so that no split sees what comes after it.

Row t of a split is the observation at bar t (the last ``window`` rows of scaled features,
``ObservationBuilder.observe``, exactly what the backtest and the live trader feed the model)
and the label of bar t (``features.labels``, made from bars t+1..t+horizon). What keeps the
future out:

* the feature scaler is fitted on the training split's bars only;
* features at t depend on bars up to t (``ModelData``), triple-barrier volatility too
  (rolling std of log returns ending at t);
* a row is kept only if its label horizon ends inside its own split (``t + horizon < end``),
  so training labels never read validation bars and validation labels never read test bars.

Rows whose window holds a NaN (feature warm-up) or whose label is invalid are dropped; each
split keeps the bar index of its rows, so predictions map back to bars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from tradewind.config.models import LabelConfig, LabelKind, ModelConfig
from tradewind.domain.series import BarSeries
from tradewind.features.labels import Labels, forward_return_sign, triple_barrier
from tradewind.ml.contract import supervised_contract, supervised_learner
from tradewind.policy import SPLIT_NAMES, FeatureScaler, ModelContract, ModelData
from tradewind.policy.observation import ObservationBuilder

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def make_labels(label: LabelConfig, bars: BarSeries) -> Labels:
    """Labels of every bar under ``label`` (forward-looking: training targets only)."""
    if label.kind is LabelKind.FORWARD_RETURN_SIGN:
        return forward_return_sign(bars.close, label.horizon, label.threshold)
    vol = rolling_vol(bars.close, label.vol_window)
    return triple_barrier(
        bars.close, bars.high, bars.low, label.horizon, label.up_mult, label.down_mult, vol
    )


def rolling_vol(close: npt.ArrayLike, window: int) -> F64:
    """Sample std (ddof 1) of the last ``window`` log returns ending at each bar; known at the
    bar's close. NaN until ``window`` returns exist (the first ``window`` bars)."""
    c = np.asarray(close, dtype=np.float64)
    r = np.full(len(c), np.nan)
    if len(c) > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            r[1:] = np.log(c[1:] / c[:-1])
    return pd.Series(r).rolling(window, min_periods=window).std().to_numpy(dtype=np.float64)


def window_complete(values: npt.ArrayLike, window: int) -> npt.NDArray[np.bool_]:
    """True at row t when rows t-window+1..t exist and hold no NaN (``first_valid``'s test,
    for every row at once)."""
    bad = np.asarray(np.isnan(np.asarray(values, dtype=np.float64)).any(axis=1), dtype=np.int64)
    n = len(bad)
    ok = np.zeros(n, dtype=bool)
    if n >= window:
        csum = np.concatenate(([0], np.cumsum(bad)))
        ok[window - 1 :] = (csum[window:] - csum[: n - window + 1]) == 0
    return ok


@dataclass(frozen=True, eq=False)
class LabelledRows:
    """One split's training material: ``X[i]`` is the observation at bar ``rows[i]`` (float64
    of the float32 observation), ``y[i]`` its label (-1, 0, 1)."""

    X: F64
    y: npt.NDArray[np.int64]
    rows: I64

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, eq=False)
class SupervisedDataset:
    """The labelled rows of each split, the contract they were built with, and the scaled
    features of every bar (to observe any bar, e.g. to trade a whole split)."""

    data: ModelData
    contract: ModelContract
    horizon: int
    splits: dict[str, LabelledRows]
    scaled: F32
    complete: npt.NDArray[np.bool_]  # the bar's window has no NaN

    @property
    def train(self) -> LabelledRows:
        return self.splits["train"]

    @property
    def validation(self) -> LabelledRows:
        return self.splits["validation"]

    @property
    def test(self) -> LabelledRows:
        return self.splits["test"]

    def observations(self, rows: npt.ArrayLike) -> F64:
        """Observations at bars ``rows`` (each must have a complete window), float64."""
        return _observe(ObservationBuilder(self.contract), self.scaled, np.asarray(rows))

    def tradable_rows(self, name: str) -> I64:
        """Bars of split ``name`` the model can decide on: every bar with a complete window,
        labelled or not (the last ``horizon`` bars of a split have no label but do trade)."""
        sl = self.data.rows[name]
        bars = np.arange(sl.start, sl.stop, dtype=np.int64)
        return bars[self.complete[sl]]


def build_dataset(cfg: ModelConfig, data: ModelData) -> SupervisedDataset:
    """Observations and labels per split for ``cfg`` (a supervised model config) on ``data``.

    ValueError when a split has no usable row (say why) or the training labels hold a single
    class (nothing to learn)."""
    learner = supervised_learner(cfg)
    horizon = learner.label.horizon
    scaler = FeatureScaler.fit(data.split_values("train"))
    complete = window_complete(data.values, cfg.window)
    labels = make_labels(learner.label, data.bars)
    picked = {name: _usable_rows(name, data, complete, labels, horizon) for name in SPLIT_NAMES}
    train_y = labels.label[picked["train"]].astype(np.int64)
    classes = np.unique(train_y)
    if len(classes) < 2:
        raise ValueError(
            f"every training label is {int(classes[0])} ({learner.label.kind.value}, horizon "
            f"{horizon}): a classifier needs at least two classes; change the label settings"
        )
    contract = supervised_contract(cfg, data, scaler, classes.tolist())
    builder = ObservationBuilder(contract)
    scaled = builder.scale(data.values)
    splits = {
        name: LabelledRows(
            X=_observe(builder, scaled, rows),
            y=labels.label[rows].astype(np.int64),
            rows=rows,
        )
        for name, rows in picked.items()
    }
    return SupervisedDataset(data, contract, horizon, splits, scaled, complete)


def _usable_rows(
    name: str,
    data: ModelData,
    complete: npt.NDArray[np.bool_],
    labels: Labels,
    horizon: int,
) -> I64:
    """Bars of split ``name`` with a complete window, a valid label, and a label horizon that
    ends inside the split."""
    sl = data.rows[name]
    last = sl.stop - 1 - horizon  # the last bar whose horizon stays in the split
    bars = np.arange(sl.start, max(sl.start, last + 1), dtype=np.int64)
    rows = bars[complete[bars] & labels.valid[bars]]
    if len(rows) == 0:
        raise ValueError(
            f"split {name} has no usable rows: {sl.stop - sl.start} bars, of which the last "
            f"{horizon} (the label horizon) cannot be labelled inside the split and the rest "
            f"lack a complete window of features or a valid label"
        )
    return rows


def _observe(builder: ObservationBuilder, scaled: F32, rows: npt.NDArray[np.integer]) -> F64:
    out = np.empty((len(rows), builder.obs_dim), dtype=np.float32)
    for i, t in enumerate(rows.tolist()):
        builder.observe(scaled, t, out=out[i])
    if np.isnan(out).any():
        raise ValueError("an observation holds NaN: its window is not complete")
    return out.astype(np.float64)
