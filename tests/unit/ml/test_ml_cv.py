"""PurgedKFold: contiguous folds covering every row once, purge before and embargo after each
test fold, nothing else dropped; and it plugs into scikit-learn's cross_validate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate

from tradewind.ml import PurgedKFold


@st.composite
def cases(draw: st.DrawFn) -> tuple[int, int, int, int, np.ndarray | None]:
    k = draw(st.integers(2, 7))
    n = draw(st.integers(k, 120))
    purge = draw(st.integers(0, 15))
    embargo = draw(st.integers(0, 15))
    index = None
    if draw(st.booleans()):  # rows with gaps between them (dropped bars)
        gaps = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
        index = np.cumsum(gaps)
    return n, k, purge, embargo, index


@settings(max_examples=150, deadline=None)
@given(cases())
def test_purged_kfold_properties(case: tuple[int, int, int, int, np.ndarray | None]) -> None:
    n, k, purge, embargo, index = case
    t = np.arange(n) if index is None else index
    cv = PurgedKFold(k, purge=purge, embargo=embargo, index=index)
    X = np.zeros((n, 2))
    folds = np.array_split(np.arange(n), k)
    expected = []
    for test in folds:
        rest = np.setdiff1d(np.arange(n), test)
        keep = (t[rest] < t[test[0]] - purge) | (t[rest] > t[test[-1]] + embargo)
        expected.append(rest[keep])
    if any(len(e) == 0 for e in expected):
        with pytest.raises(ValueError, match="no training rows"):
            list(cv.split(X))
        return
    splits = list(cv.split(X))
    assert len(splits) == cv.get_n_splits() == k
    tests = np.concatenate([test for _, test in splits])
    assert tests.tolist() == list(range(n))  # every row once, folds contiguous and in order
    for (train, test), want in zip(splits, expected, strict=True):
        assert np.all(np.diff(test) == 1)
        assert not np.intersect1d(train, test).size
        gap = t[test][None, :] - t[train][:, None]  # > 0: train row before the test row
        assert not np.any((gap > 0) & (gap <= purge))  # no label window reaches the fold
        assert not np.any((gap < 0) & (-gap <= embargo))  # nothing in the embargo after it
        assert train.tolist() == want.tolist()  # nothing else dropped


def test_golden_split() -> None:
    cv = PurgedKFold(3, purge=2, embargo=1)
    splits = [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.zeros((9, 1)))]
    assert splits == [
        ([4, 5, 6, 7, 8], [0, 1, 2]),
        ([0, 7, 8], [3, 4, 5]),
        ([0, 1, 2, 3], [6, 7, 8]),
    ]


def test_works_with_cross_validate() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=120) > 0).astype(int)
    cv = PurgedKFold(4, purge=3, embargo=2)
    out = cross_validate(LogisticRegression(), X, y, cv=cv, scoring=["accuracy", "neg_log_loss"])
    assert len(out["test_accuracy"]) == 4
    assert np.all(out["test_accuracy"] > 0.6)
    assert "PurgedKFold(" in repr(cv)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_splits"):
        PurgedKFold(1)
    with pytest.raises(ValueError, match="purge and embargo"):
        PurgedKFold(2, purge=-1)
    with pytest.raises(ValueError, match="strictly increasing"):
        PurgedKFold(2, index=[0, 2, 2])
    with pytest.raises(ValueError, match="cannot split 2 rows"):
        list(PurgedKFold(3).split(np.zeros((2, 1))))
    with pytest.raises(ValueError, match="index has 3 rows"):
        list(PurgedKFold(2, index=[0, 1, 2]).split(np.zeros((4, 1))))
