"""Our transforms one bar at a time: ``log_return``, ``zscore``, ``spread`` and the time encodings.

Each gives, bar by bar, the value ``features.build``'s batch version gives at that row, bit for
bit: the same IEEE operations in the same order (Python floats are doubles), and numpy's own
``log``/``sin``/``cos`` on scalars, which run the loops the batch runs (``math.log`` can differ
from numpy's SIMD ``log`` in the last bit). ``zscore`` sums its window in order every bar, as
the batch does (O(window) a bar), rather than keeping a running sum that would drift from it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
NAN = math.nan
US_PER_DAY = 86_400_000_000
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
_TWO_PI = 2.0 * np.pi


class LogReturn:
    """``log(x[t] / x[t - period])``, NaN where not finite or not yet ``period`` bars back."""

    def __init__(self, period: int, position: int, history: Callable[[], F64]) -> None:
        self.position = position
        self._history = history
        self._past: deque[float] = deque(maxlen=period)

    def start(self) -> None:
        self._past.extend(float(v) for v in self._history()[-self._past.maxlen :])  # type: ignore[operator]

    def step(self, row: list[float], n: int, ts: int, spread: float | None) -> tuple[float, ...]:
        x, past, out = row[self.position], self._past, NAN
        if len(past) == past.maxlen and past[0] != 0.0:  # x / 0 is never finite
            q = x / past[0]
            if q > 0.0:  # log of 0, a negative or NaN: not finite
                out = float(np.log(q))
                if not math.isfinite(out):
                    out = NAN
        past.append(x)
        return (out,)


class ZScore:
    """``(x[t] - mean) / std`` over the last ``window`` values: sum in order, mean, squared
    deviations in order (as ``rolling_zscore``); NaN where the std is 0 or not yet a window."""

    def __init__(self, window: int, ddof: int, position: int, history: Callable[[], F64]) -> None:
        self.position = position
        self._history = history
        self._window = window
        self._dof = window - ddof
        self._buf: deque[float] = deque(maxlen=window)

    def start(self) -> None:
        self._buf.extend(float(v) for v in self._history()[-self._window :])

    def step(self, row: list[float], n: int, ts: int, spread: float | None) -> tuple[float, ...]:
        x, buf = row[self.position], self._buf
        buf.append(x)
        if len(buf) < self._window:
            return (NAN,)
        total = 0.0
        for v in buf:
            total += v
        mean = total / self._window
        sq = 0.0
        for v in buf:
            d = v - mean
            sq += d * d
        std = math.sqrt(sq / self._dof)  # sq >= 0 or NaN: sqrt is IEEE-exact, as numpy's
        return (NAN,) if std == 0.0 else ((x - mean) / std,)


class Cyclic:
    """``time_of_day`` or ``day_of_week``: (sin, cos) of 2π times the fraction of the cycle."""

    def __init__(self, fn: str) -> None:
        self._day = fn == "day_of_week"

    def start(self) -> None:
        pass

    def step(self, row: list[float], n: int, ts: int, spread: float | None) -> tuple[float, ...]:
        if self._day:
            fraction = float((ts // US_PER_DAY + _EPOCH_WEEKDAY) % 7) / 7.0
        else:
            fraction = float(ts % US_PER_DAY) / float(US_PER_DAY)
        angle = np.float64(_TWO_PI * fraction)
        return (float(np.sin(angle)), float(np.cos(angle)))


class Spread:
    """The ``spread`` given with each bar (ask - bid); none given is an error, as in the batch."""

    def __init__(self, name: str) -> None:
        self.name = name

    def start(self) -> None:
        pass

    def step(self, row: list[float], n: int, ts: int, spread: float | None) -> tuple[float, ...]:
        if spread is None:
            raise ValueError(f"feature {self.name!r} (spread) needs the spread argument")
        return (float(spread),)
