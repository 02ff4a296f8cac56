"""Client-side pacing: a token-bucket rate limiter and exponential backoff with jitter.

Both take their clock, sleep and randomness from the caller, so tests drive them with a
fake clock and a seeded generator.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RateLimiter:
    """At most ``rate`` acquisitions per second on average, ``burst`` at once.

    ``acquire()`` blocks (through ``sleep``) until a token is free; thread-safe. The bucket
    starts full. Waiting callers reserve their token before sleeping, so they leave in order.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got {rate}, {burst}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token now (perhaps on credit) and return how long to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        """Block until allowed; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with "equal jitter": the n-th retry (n from 0) waits
    ``d/2 + U(0, d/2)`` with ``d = min(cap, base * factor**n)``; ``attempts`` is how many tries
    in all (the first one included)."""

    base: float = 0.05
    factor: float = 2.0
    cap: float = 5.0
    attempts: int = 6
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def ceiling(self, n: int) -> float:
        return float(min(self.cap, self.base * self.factor**n))

    def delay(self, n: int) -> float:
        d = self.ceiling(n)
        return d / 2 + self.rng.uniform(0, d / 2)

    def delays(self) -> Iterator[float]:
        """The waits between tries: ``attempts - 1`` of them."""
        for n in range(self.attempts - 1):
            yield self.delay(n)
