"""Client-side pacing: a token-bucket rate limiter and exponential backoff with jitter.

Both take their clock, sleep and randomness from the caller, so tests drive them with a
fake clock and a seeded generator.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

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


class RateLimitedLog:
    """WARNING lines at most once per ``every_s`` per key: the first at once, later ones
    summarised ("N more like it") in the next line that gets through."""

    def __init__(
        self,
        logger: logging.Logger,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._every_s = every_s
        self._clock = clock
        self._next: dict[Hashable, float] = {}
        self._suppressed: dict[Hashable, int] = {}

    def warning(self, key: Hashable, msg: str, *args: Any) -> None:
        now = self._clock()
        if key in self._next and now < self._next[key]:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        more = self._suppressed.pop(key, 0)
        if more:
            msg, args = msg + " (and %d more like it since the last report)", (*args, more)
        self._logger.warning(msg, *args)
        self._next[key] = now + self._every_s
