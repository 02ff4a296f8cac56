"""Feature lines of one set of bars, computed once per distinct parameter and shared.

A sweep over fast x slow SMA periods reads SMA(p) for every point that uses period p: 100
points of a 10 x 10 grid read 20 distinct lines 200 times. ``FeatureCache`` computes each
(instrument, key) line once, on first use or up front (``warm``), and hands the same read-only
array to every later reader. ``stats`` counts the lines computed, the reads served from the
cache and the lines dropped for room, so a test can see that each was computed once without
replacing anything.

Memory: one float64 array per (instrument, key), i.e. 8 bytes x bars x instruments x keys
(a 1M-bar instrument with 20 distinct periods: 160 MB), held under ``max_bytes`` (2 GiB by
default): past it the least recently read lines are dropped and computed again if read again
(the same values: ``compute`` is a pure function of the bars and the key). ``warm`` stops
when the budget is full; the rest are computed on first use. Sweep workers are forked after
``warm`` and share its lines; each worker's own additions stay under the same budget.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradewind.domain.series import BarSeries

F64 = npt.NDArray[np.float64]
Compute = Callable[[BarSeries, Hashable], F64]
DEFAULT_MAX_BYTES = 2 << 30


@dataclass
class CacheStats:
    computed: int = 0  # lines computed (again, after an eviction)
    hits: int = 0  # reads answered by a line computed before
    evicted: int = 0  # lines dropped to stay under max_bytes


class FeatureCache:
    """``line(symbol, key)``: ``compute(bars[symbol], key)``, computed once per pair while
    the lines fit in ``max_bytes`` (None: no limit)."""

    def __init__(
        self,
        bars: Mapping[str, BarSeries],
        compute: Compute,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
    ) -> None:
        if max_bytes is not None and max_bytes <= 0:
            raise ValueError(f"max_bytes must be > 0 (or None: no limit), got {max_bytes}")
        self._bars = bars
        self._compute = compute
        self._lines: dict[tuple[str, Hashable], F64] = {}  # oldest read first
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.stats = CacheStats()

    def line(self, symbol: str, key: Hashable) -> F64:
        k = (symbol, key)
        got = self._lines.pop(k, None)
        if got is not None:
            self._lines[k] = got  # now the most recently read
            self.stats.hits += 1
            return got
        out = np.array(self._compute(self._bars[symbol], key), dtype=np.float64)
        out.flags.writeable = False  # shared by every point that reads it
        self.stats.computed += 1
        self._make_room(out.nbytes)
        self._lines[k] = out
        self.nbytes += out.nbytes
        return out

    def warm(self, keys: Iterable[Hashable]) -> None:
        """Compute every key on every instrument now (once each; cached ones are skipped),
        until the lines fill ``max_bytes``."""
        for key in dict.fromkeys(keys):
            for symbol in self._bars:
                if (symbol, key) in self._lines:
                    continue
                size = 8 * len(self._bars[symbol])
                if self.max_bytes is not None and self.nbytes + size > self.max_bytes:
                    return  # full: the rest on first use
                self.line(symbol, key)

    def _make_room(self, size: int) -> None:
        """Drop the least recently read lines until ``size`` more bytes fit (a line larger
        than the whole budget is still held, alone, while it is read)."""
        if self.max_bytes is None:
            return
        while self._lines and self.nbytes + size > self.max_bytes:
            oldest = next(iter(self._lines))
            self.nbytes -= self._lines.pop(oldest).nbytes
            self.stats.evicted += 1

    def __len__(self) -> int:
        return len(self._lines)
