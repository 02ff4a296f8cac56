"""Pacing without a network: the token bucket on a fake clock, and the backoff schedule."""

from __future__ import annotations

import random

import pytest

from tradewind.broker.limits import Backoff, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def test_burst_passes_then_paced_at_rate() -> None:
    clock = FakeClock()
    rl = RateLimiter(50, burst=5, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        assert rl.acquire() == 0.0
    assert clock.now == 0.0
    for _ in range(100):
        rl.acquire()
    # 105 acquisitions at 50/s with a burst of 5 take exactly 2 s of (fake) time
    assert clock.now == pytest.approx(2.0)
    assert all(s == pytest.approx(0.02) for s in clock.slept)


def test_never_more_than_rate_in_any_window() -> None:
    clock = FakeClock()
    rl = RateLimiter(90, burst=10, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(1000):
        rl.acquire()
        stamps.append(clock.now)
        clock.now += 0.001  # the caller's own work
    for i, t in enumerate(stamps):
        in_window = sum(1 for u in stamps[i:] if u < t + 1.0)
        assert in_window <= 90 + 10  # rate x 1 s + the burst
    # over the long run the rate holds: below 100 requests/s
    assert len(stamps) / (stamps[-1] - stamps[0]) < 100


def test_idle_time_refills_up_to_the_burst_only() -> None:
    clock = FakeClock()
    rl = RateLimiter(2, burst=2, clock=clock, sleep=clock.sleep)
    rl.acquire()
    rl.acquire()
    clock.now += 100.0
    assert rl.acquire() == 0.0
    assert rl.acquire() == 0.0
    assert rl.acquire() == pytest.approx(0.5)  # 2 new connections a second, no more


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(1, burst=0)


def test_backoff_doubles_with_jitter_within_bounds_and_is_capped() -> None:
    b = Backoff(base=0.1, factor=2, cap=1.0, attempts=8, rng=random.Random(1))
    delays = list(b.delays())
    assert len(delays) == 7
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    for d, c in zip(delays, ceilings, strict=True):
        assert c / 2 <= d <= c
    # same seed, same schedule; the jitter really varies
    again = list(Backoff(base=0.1, factor=2, cap=1.0, attempts=8, rng=random.Random(1)).delays())
    assert again == delays
    assert len({round(d / c, 6) for d, c in zip(delays, ceilings, strict=True)}) > 1
