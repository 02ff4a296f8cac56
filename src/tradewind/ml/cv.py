"""Purged k-fold cross-validation for labels that look forward in time.

A label at bar t is made from bars t..t+h, so a training row just before a test fold carries
the test fold's prices in its label (and a row just after it shares its recent past). Plain
k-fold then scores the model on what it was trained on. ``PurgedKFold`` keeps the folds
contiguous in time and drops, for each test fold, the training rows whose label window
``[t, t + purge]`` reaches into the fold (purge) and the rows in the ``embargo`` bars after it
(embargo). Nothing else is dropped, and every row is in exactly one test fold.

Distances are in bars. By default row i is bar i; pass ``index`` (the bar index of each row,
increasing) when rows were dropped in between (warm-up, invalid labels), so gaps count.
Set ``embargo`` to at least the label horizon to also keep rows whose labels overlap the test
labels from the right out of training (López de Prado's full purge).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import BaseCrossValidator

I64 = npt.NDArray[np.int64]


class PurgedKFold(BaseCrossValidator):
    """K contiguous folds in time with purge and embargo; the scikit-learn splitter API.

    ``split(X)`` yields ``(train, test)`` row positions. ``test`` is fold k (folds are
    ``numpy.array_split`` of the rows, the first ``n % k`` one row longer); ``train`` is every
    other row except those with ``index[test[0]] - purge <= index[i] < index[test[0]]`` and
    those with ``index[test[-1]] < index[i] <= index[test[-1]] + embargo``.
    """

    def __init__(
        self,
        n_splits: int = 5,
        purge: int = 0,
        embargo: int = 0,
        index: npt.ArrayLike | None = None,
    ) -> None:
        if int(n_splits) < 2:
            raise ValueError(f"n_splits must be at least 2, got {n_splits}")
        if int(purge) < 0 or int(embargo) < 0:
            raise ValueError(f"purge and embargo must be >= 0, got {purge} and {embargo}")
        self.n_splits = int(n_splits)
        self.purge = int(purge)
        self.embargo = int(embargo)
        self.index = None if index is None else np.asarray(index, dtype=np.int64)
        if self.index is not None and len(self.index) > 1 and np.any(np.diff(self.index) <= 0):
            raise ValueError("index must be strictly increasing (rows in time order)")

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:
        return self.n_splits

    def split(
        self, X: npt.ArrayLike, y: object = None, groups: object = None
    ) -> Iterator[tuple[I64, I64]]:
        n = _n_rows(X)
        if n < self.n_splits:
            raise ValueError(f"cannot split {n} rows into {self.n_splits} folds")
        t = np.arange(n, dtype=np.int64) if self.index is None else self.index
        if len(t) != n:
            raise ValueError(f"index has {len(t)} rows, X has {n}")
        rows = np.arange(n, dtype=np.int64)
        for k, test in enumerate(np.array_split(rows, self.n_splits)):
            first, last = t[test[0]], t[test[-1]]
            keep = (t < first - self.purge) | (t > last + self.embargo)
            train = rows[keep]
            if len(train) == 0:
                raise ValueError(
                    f"fold {k}: no training rows left after purge={self.purge} and "
                    f"embargo={self.embargo} ({n} rows, {self.n_splits} folds)"
                )
            yield train, test

    def _iter_test_indices(
        self, X: object = None, y: object = None, groups: object = None
    ) -> Iterator[I64]:
        for _, test in self.split(X):  # type: ignore[arg-type]  # sklearn calls it with split's X
            yield test


def _n_rows(X: npt.ArrayLike) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None:
        return int(shape[0])
    return len(X)  # type: ignore[arg-type]  # ArrayLike admits scalars, which have no length
