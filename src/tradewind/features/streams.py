"""One TA-Lib function bar by bar: TA-Lib's stream handle, or the batch call where none serves.

TA-Lib (0.8) keeps a function's state in a stream handle (``talib.stream.<FN>``): opened on the
history, then one ``update`` per closed bar in O(1) (O(window) for window extremes), each value
bit-identical to the batch Function API over the same bars, for all 200 functions
(``tests/unit/test_incremental_features.py`` holds us to it, exactly, function by function).
That includes the EMA-type functions with an unstable period (EMA, RSI, ATR, ADX, MACD, KAMA,
...): the handle runs forward from the same first bar as the batch.

Where a handle cannot serve, the node computes its function with the batch call over the whole
input history and keeps the last row: exact by definition, O(history) per bar. That happens

- until a handle can open (TA-Lib wants the lookback and, for some functions, a few seeding bars
  more; until then the history is short, so the batch call is cheap), and
- from the first input past the leading NaNs that is not finite (a chained input's NaN, e.g. a
  zscore over a flat stretch): TA-Lib's handles refuse one, the batch carries it through its
  arithmetic; from then on for that column, logged once at INFO.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import talib
from talib import stream as talib_stream

F64 = npt.NDArray[np.float64]
Columns = Callable[[list[float] | None], list[F64]]  # input histories (+ the bar's row)

log = logging.getLogger(__name__)


class TalibNode:
    """``talib.<fn>(*inputs, **params)``, every output, one bar at a time.

    ``columns(row)`` gives the node's input histories (the engine's table) followed by the
    bar being stepped, ``columns(None)`` those of the history alone; ``row[p]`` for ``p`` in
    ``positions`` are that bar's inputs. Features
    that differ only in the output they pick (MACD's macd and macdsignal) share one node.
    """

    def __init__(
        self, fn: str, params: dict[str, Any], positions: Sequence[int], columns: Columns
    ) -> None:
        self.fn = fn
        self.params = params
        self.positions = tuple(positions)
        self._args = itemgetter(*positions)  # row -> the bar's inputs (one: a bare float)
        self._one = len(positions) == 1
        self._columns = columns
        self._stream: Any = getattr(talib_stream, fn)
        self._handle: Any = None
        self._batch = False  # a non-finite input past the leading NaNs: the batch from now on
        self._step = -1  # the bar of the memo below
        self._last: tuple[float, ...] = ()

    def start(self) -> None:
        """Open on the history the engine holds (may be too short: then at a later bar)."""
        cols = self._columns(None)
        if _gap(cols):
            self._to_batch("its history")
        elif len(cols[0]):
            self._open(cols)

    def step(self, row: list[float], n: int, ts: int, spread: float | None) -> tuple[float, ...]:
        """The outputs at bar ``n`` (row ``n`` of the engine's table); once per bar."""
        if n == self._step:
            return self._last
        out: Any
        if self._handle is not None:
            args = self._args(row)
            try:
                out = self._handle.update(args) if self._one else self._handle.update(*args)
            except Exception:
                if np.isfinite(args).all():
                    raise
                self._to_batch(f"bar {n}")
                out = self._batch_last(self._columns(row))
        else:
            cols = self._columns(row)
            if not self._batch and _gap(cols):
                self._to_batch(f"bar {n}")
            out = self._batch_last(cols) if self._batch else self._open(cols)
        self._step = n
        self._last = out if isinstance(out, tuple) else (out,)
        return self._last

    def _open(self, cols: list[F64]) -> Any:
        """A handle on ``cols`` and its value at their last bar; until TA-Lib has the bars it
        needs, the batch call's last row."""
        try:
            self._handle = self._stream(*cols, **self.params)
        except talib.InsufficientHistory:
            return self._batch_last(cols)
        return self._handle.value

    def _batch_last(self, cols: list[F64]) -> tuple[float, ...]:
        out = getattr(talib, self.fn)(*cols, **self.params)
        return tuple(float(o[-1]) for o in out) if isinstance(out, tuple) else (float(out[-1]),)

    def _to_batch(self, where: str) -> None:
        log.info(
            "%s%s: a non-finite input past the leading NaNs (%s); computed over the whole "
            "history from now on (exact, O(history) a bar)",
            self.fn,
            self.params or "",
            where,
        )
        self._handle, self._batch = None, True


def _gap(cols: list[F64]) -> bool:
    """Whether an input is not finite at or after the first bar with no NaN input (TA-Lib skips
    the leading bars with a NaN in any input; its handles take nothing else non-finite)."""
    present = np.logical_and.reduce([~np.isnan(c) for c in cols])
    if not present.any():
        return False
    rest = [c[int(present.argmax()) :] for c in cols]
    return not all(bool(np.isfinite(c).all()) for c in rest)
