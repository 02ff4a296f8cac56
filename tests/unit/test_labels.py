"""Training labels: golden cases by hand, and a label at t uses only bars t+1..t+horizon."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.features.labels import forward_return_sign, triple_barrier


def test_forward_return_sign_golden() -> None:
    close = np.array([10.0, 11.0, 11.0, 9.0, 12.0, 12.0])
    lab, valid = forward_return_sign(close, 1)
    assert lab.dtype == np.int8
    assert lab.tolist() == [1, 0, -1, 1, 0, 0]
    assert valid.tolist() == [True, True, True, True, True, False]
    lab2, valid2 = forward_return_sign(close, 2)
    assert lab2.tolist() == [1, -1, 1, 1, 0, 0]
    assert valid2.tolist() == [True, True, True, True, False, False]


def test_forward_return_sign_threshold_nan_and_short() -> None:
    lab, valid = forward_return_sign([100.0, 100.05, 101.0, np.nan, 90.0], 1, threshold=0.001)
    assert lab.tolist() == [0, 1, 0, 0, 0]
    assert valid.tolist() == [True, True, False, False, False]
    lab, valid = forward_return_sign([1.0, 2.0], 5)
    assert not valid.any()
    assert not lab.any()
    with pytest.raises(ValueError, match="horizon"):
        forward_return_sign([1.0, 2.0], 0)


def test_triple_barrier_golden() -> None:
    # entry 100, vol 0.01, mult 1: upper 101, lower 99
    close = np.array([100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0])
    high = np.array([100.0, 100.5, 101.0, 100.2, 102.0, 100.1, 100.1])
    low = np.array([100.0, 99.5, 99.8, 99.0, 98.0, 99.9, 99.9])
    vol = np.full(7, 0.01)
    lab, valid = triple_barrier(close, high, low, 2, 1.0, 1.0, vol)
    # t=0: bar1 no touch, bar2 high 101 >= 101 -> +1
    # t=1: bar2 upper touched first -> +1
    # t=2: bar3 low 99.0 <= 99 -> -1
    # t=3: bar4 touches both barriers in one bar -> conservative -1
    # t=4: bars 5, 6 inside -> 0 (vertical barrier)
    assert lab.tolist() == [1, 1, -1, -1, 0, 0, 0]
    assert valid.tolist() == [True] * 5 + [False] * 2


def test_triple_barrier_asymmetric_and_invalid_vol() -> None:
    close = np.array([100.0, 100.0, 100.0, 100.0])
    high = np.array([100.0, 101.5, 100.0, 100.0])
    low = np.array([100.0, 98.5, 100.0, 100.0])
    vol = np.array([0.01, np.nan, 0.01, 0.01])
    # up 2x (102), down 1x (99): bar 1's low 98.5 hits the lower barrier only
    lab, valid = triple_barrier(close, high, low, 1, 2.0, 1.0, vol)
    assert lab.tolist() == [-1, 0, 0, 0]
    assert valid.tolist() == [True, False, True, False]
    # up 1x (101), down 2x (98): only the upper barrier
    lab, _ = triple_barrier(close, high, low, 1, 1.0, 2.0, vol)
    assert lab[0] == 1
    with pytest.raises(ValueError, match="lengths"):
        triple_barrier(close, high[:-1], low, 1, 1.0, 1.0, vol)


def _walk(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    return close, close * (1 + rng.uniform(0, 0.01, n)), close * (1 - rng.uniform(0, 0.01, n))


@pytest.mark.parametrize("seed", range(5))
def test_labels_at_t_use_only_t_plus_1_to_t_plus_h(seed: int) -> None:
    n, h = 200, 5
    close, high, low = _walk(n, seed)
    vol = np.full(n, 0.01)
    fr = forward_return_sign(close, h)
    tb = triple_barrier(close, high, low, h, 1.0, 1.0, vol)
    rng = np.random.default_rng(seed + 100)
    for t in rng.integers(0, n - h, 20):
        # change everything outside t..t+h (and bar t's high/low): labels at t must not move
        c2, h2, l2 = close.copy(), high.copy(), low.copy()
        outside = np.r_[0:t, t + h + 1 : n]
        c2[outside] *= rng.uniform(0.5, 1.5, len(outside))
        h2[outside] = c2[outside] * 2
        l2[outside] = c2[outside] / 2
        h2[t], l2[t] = c2[t] * 3, c2[t] / 3
        assert forward_return_sign(c2, h).label[t] == fr.label[t]
        assert triple_barrier(c2, h2, l2, h, 1.0, 1.0, vol).label[t] == tb.label[t]
        # and a change inside the horizon can move it: push bar t+h far up, all paths hit up
        h3 = high.copy()
        h3[t + 1] = close[t] * 10
        assert triple_barrier(close, h3, low, h, 1.0, 1.0, vol).label[t] in (1, -1)
        c3 = close.copy()
        c3[t + h] = close[t] * 10
        assert forward_return_sign(c3, h).label[t] == 1


def test_triple_barrier_matches_a_plain_loop() -> None:
    n, h = 300, 7
    close, high, low = _walk(n, 42)
    vol = np.abs(np.random.default_rng(1).normal(0.01, 0.003, n))
    lab, valid = triple_barrier(close, high, low, h, 1.5, 1.0, vol)
    for t in range(n - h):
        up, dn = close[t] * (1 + 1.5 * vol[t]), close[t] * (1 - 1.0 * vol[t])
        want = 0
        for j in range(t + 1, t + h + 1):
            if low[j] <= dn:
                want = -1
                break
            if high[j] >= up:
                want = 1
                break
        assert lab[t] == want, t
    assert valid[: n - h].all()
    assert not valid[n - h :].any()
