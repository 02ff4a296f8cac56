"""The venue's clock: real time, accelerated (``speed`` times faster from a start instant), or
stepped by tests (``advance`` / ``set``). Every price, candle and fill reads ``now_ns()``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

ClockMode = Literal["real", "fast", "stepped"]
NS = 1_000_000_000
# The instants a clock may be set to: prices and candles hold times as int64 nanoseconds
# (which end in April 2262) and align candles ahead of now, so the venue keeps well inside.
MIN_NS = 31_536_000 * NS  # 1971-01-01T00:00:00Z
MAX_NS = 7_258_118_400 * NS  # 2200-01-01T00:00:00Z
BOUNDS = "1971-01-01T00:00:00Z..2200-01-01T00:00:00Z"


def check_instant(ns: int) -> int:
    """``ns`` when a clock may show it (``MIN_NS..MAX_NS``), else ValueError saying so."""
    if not MIN_NS <= ns <= MAX_NS:
        raise ValueError(f"the venue's clock stays within {BOUNDS}; {_show(ns)} is outside")
    return ns


def _show(ns: int) -> str:
    from tradewind.venue.wire import format_time  # the wire module does not import the clock

    if -62_135_596_800 * NS <= ns <= 253_402_300_799 * NS:
        return format_time(ns)
    return f"{ns} ns since 1970"


class Clock:
    """``now_ns()`` in epoch nanoseconds, UTC.

    - ``real``: the wall clock.
    - ``fast``: ``start_ns + (wall - wall_at_start) * speed`` (``start_ns`` defaults to the wall
      clock at construction).
    - ``stepped``: stands still at ``start_ns`` until ``advance(seconds)`` or ``set(ns)``.

    ``version`` increases whenever a stepped clock moves, so waiters can notice.
    """

    def __init__(
        self,
        mode: ClockMode = "real",
        *,
        start_ns: int | None = None,
        speed: float = 1.0,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if mode not in ("real", "fast", "stepped"):
            raise ValueError(f"unknown clock mode {mode!r}; expected real, fast or stepped")
        if mode == "fast" and not speed > 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.mode: ClockMode = mode
        self._wall = wall_ns
        self._lock = threading.Lock()
        self._speed = float(speed) if mode == "fast" else (1.0 if mode == "real" else 0.0)
        self._anchor_wall = wall_ns()
        self._anchor = int(start_ns) if start_ns is not None else self._anchor_wall
        self.version = 0

    @classmethod
    def real(cls) -> Clock:
        return cls("real")

    @classmethod
    def fast(cls, speed: float, start_ns: int | None = None) -> Clock:
        return cls("fast", speed=speed, start_ns=start_ns)

    @classmethod
    def stepped(cls, start_ns: int) -> Clock:
        return cls("stepped", start_ns=start_ns)

    @property
    def speed(self) -> float:
        """Simulated seconds per wall second (0 for a stepped clock)."""
        return self._speed

    def now_ns(self) -> int:
        if self.mode == "real":
            return self._wall()
        if self.mode == "stepped":
            return self._anchor
        return self._anchor + int((self._wall() - self._anchor_wall) * self._speed)

    def advance(self, seconds: float) -> int:
        """Move a stepped clock forward (never back); returns the new now."""
        if seconds < 0:
            raise ValueError("a clock never moves back: advance by a non-negative amount")
        return self.set(self.now_ns() + round(seconds * NS))

    def set(self, ns: int) -> int:
        """Put a stepped or fast clock at ``ns`` (a fast clock keeps running from there);
        ValueError outside ``MIN_NS..MAX_NS``, the clock untouched."""
        if self.mode == "real":
            raise ValueError("a real-time clock cannot be set")
        check_instant(int(ns))
        with self._lock:
            self._anchor_wall = self._wall()
            self._anchor = int(ns)
            self.version += 1
        return self._anchor

    def describe(self) -> dict[str, object]:
        return {"mode": self.mode, "speed": self._speed, "now_ns": self.now_ns()}
