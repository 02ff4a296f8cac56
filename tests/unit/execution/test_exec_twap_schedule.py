"""The TWAP schedule and unit split: seeded and replayable, inside the horizon, jitter within
its range, and slices that add up to exactly the units asked for."""

from __future__ import annotations

import numpy as np
import pytest
from exec_support import T0, S

from tradewind.oms.execution import slice_count, split_units, twap_schedule

H = 300 * S


def test_same_seed_and_start_same_schedule() -> None:
    a = twap_schedule(T0, H, 5, 0.2, seed=3)
    assert a == twap_schedule(T0, H, 5, 0.2, seed=3)
    assert a != twap_schedule(T0, H, 5, 0.2, seed=4)
    assert a != twap_schedule(T0 + S, H, 5, 0.2, seed=3)  # not one pattern for every start


def test_no_jitter_is_the_plain_grid() -> None:
    assert twap_schedule(T0, H, 5, 0.0, seed=0) == [T0 + i * 60 * S for i in range(5)]


@pytest.mark.parametrize("seed", range(50))
@pytest.mark.parametrize(("slices", "jitter"), [(1, 0.5), (5, 0.2), (7, 0.5), (60, 0.35)])
def test_slices_stay_in_the_horizon_in_order_within_their_jitter(
    seed: int, slices: int, jitter: float
) -> None:
    times = twap_schedule(T0, H, slices, jitter, seed)
    interval = H / slices
    assert len(times) == slices
    assert times == sorted(times)
    assert times[0] >= T0  # the first slice never before the start
    assert times[-1] < T0 + H  # the last one inside the horizon
    for i, t in enumerate(times):
        nominal = T0 + i * interval
        assert abs(t - nominal) <= jitter * interval + 1  # +1 µs: flooring


def test_jitter_spreads_over_its_whole_range() -> None:
    interval = H / 10
    offsets = []
    for seed in range(200):
        times = twap_schedule(T0, H, 10, 0.3, seed)
        offsets += [(t - (T0 + i * interval)) / interval for i, t in enumerate(times) if i]
    assert min(offsets) < -0.28
    assert max(offsets) > 0.28
    assert abs(float(np.mean(offsets))) < 0.03


def test_schedule_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="slices >= 1"):
        twap_schedule(T0, H, 0, 0.2, 0)
    with pytest.raises(ValueError, match="jitter"):
        twap_schedule(T0, H, 3, 0.9, 0)


@pytest.mark.parametrize(
    ("units", "slices", "precision", "expected"),
    [
        (1000, 5, 0, [200, 200, 200, 200, 200]),
        (1003, 5, 0, [200, 200, 200, 200, 203]),
        (-1003, 5, 0, [-200, -200, -200, -200, -203]),
        (7, 3, 0, [2, 2, 3]),
        (3, 5, 0, [0, 0, 0, 0, 3]),
        (10.5, 4, 1, [2.6, 2.6, 2.6, 2.7]),
    ],
)
def test_split_is_even_with_the_remainder_last(
    units: float, slices: int, precision: int, expected: list[float]
) -> None:
    parts = split_units(units, slices, precision)
    assert parts == pytest.approx(expected)
    scale = 10**precision
    assert sum(round(p * scale) for p in parts) == round(units * scale)  # exactly


@pytest.mark.parametrize("units", [1, 17, 999, 1001, 123_457, -98_765])
@pytest.mark.parametrize("slices", [1, 2, 3, 7, 10])
def test_split_sums_exactly_at_precision_zero(units: int, slices: int) -> None:
    parts = split_units(units, slices, 0)
    assert sum(parts) == units
    assert all(p == int(p) for p in parts)


def test_slice_count_keeps_slices_above_the_minimum_size() -> None:
    assert slice_count(1000, 5, 1.0) == 5
    assert slice_count(3, 5, 1.0) == 3
    assert slice_count(-250, 5, 100.0) == 2
    assert slice_count(50, 5, 100.0) == 1  # never zero slices
