"""``IncrementalFeatures``: a ``FeatureSpec`` computed one closed bar at a time, as the batch would.

The live path's features: warmed from a history ``BarSeries`` (``build_features`` over it, once),
then ``update`` takes one bar and gives its row of every spec column in O(1) per bar (O(window)
for window functions), where recomputing ``build_features`` over the whole history is
O(history). Every row equals, bit for bit, row t of ``build_features`` over the same bars from
the same first bar (NaN exactly where the batch has NaN): TA-Lib functions run on TA-Lib's own
stream handles (``features.streams``), our transforms on ``features.steps``; chained features
(``input:`` another column) read the columns computed before them in the same bar. The one
exception is by design: a TA-Lib function whose input turns non-finite after its leading NaNs,
or whose history is still too short for its handle, is computed by the batch call over its whole
input history (exact, O(history) a bar; ``features.streams``). ``tests/unit/
test_incremental_features.py`` holds every function the config accepts to ``np.array_equal``.

State is per series: one engine per instrument (``live.decisions.LiveDecision`` holds one).
The bars and feature rows are kept in preallocated tables that double when full (amortised O(1)
a bar), so ``frame()`` and ``bars()`` are views or copies on demand, not rebuilt per bar.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tradewind.config.features import BAR_FIELDS, FeatureDef, FeatureSpec, talib_outputs
from tradewind.domain.series import BarSeries
from tradewind.features.build import FeatureFrame, build_features, talib_kwargs, talib_sources
from tradewind.features.steps import Cyclic, LogReturn, Spread, ZScore
from tradewind.features.streams import TalibNode

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_NB = len(BAR_FIELDS)


class Step(Protocol):
    def start(self) -> None: ...
    def step(self, row: list[float], n: int, ts: int, spread: float | None) -> tuple[float, ...]: ...


class IncrementalFeatures:
    """The features of one bar series, a bar at a time (see the module docstring).

    ``history``: the bars so far (may be empty); ``spread``: their spread, for a spec with a
    ``spread`` feature (then ``update`` needs each bar's ``spread`` too).
    """

    def __init__(
        self,
        spec: FeatureSpec,
        history: BarSeries | None = None,
        spread: npt.ArrayLike | None = None,
        capacity: int = 1024,
    ) -> None:
        h = history if history is not None else BarSeries.empty()
        frame = build_features(h, spec, spread)
        self.spec = spec
        self.columns = spec.columns
        n, k = len(h), len(self.columns)
        cap = max(capacity, 2 * n, 1)
        self._ts = np.empty(cap, np.int64)
        self._bars = np.empty((cap, _NB), np.float64)
        self._values = np.empty((cap, k), np.float64)
        self._ts[:n] = h.ts
        for i, f in enumerate(BAR_FIELDS):
            self._bars[:n, i] = getattr(h, f)
        self._values[:n] = frame.values
        self._n = n
        self._read_only()
        finite = ~np.isnan(frame.values)
        self._first = [int(finite[:, j].argmax()) if finite[:, j].any() else -1 for j in range(k)]
        self._unseen = [j for j, f in enumerate(self._first) if f < 0]
        self._program = self._compile(spec)
        for node, _ in self._program:
            node.start()

    def __len__(self) -> int:
        return self._n

    @property
    def last_ts(self) -> int | None:
        return int(self._ts[self._n - 1]) if self._n else None

    def update(
        self,
        ts: int,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        spread: float | None = None,
    ) -> F64:
        """Append one closed bar (open time ``ts``, UTC epoch µs) and return its feature row
        (spec order, read-only)."""
        n = self._n
        if n == len(self._ts):
            self._grow()
        row = [float(open), float(high), float(low), float(close), float(volume)]
        for node, pick in self._program:
            out = node.step(row, n, ts, spread)
            if pick < 0:
                row.extend(out)
            else:
                row.append(out[pick])
        self._ts[n] = ts
        self._bars[n] = row[:_NB]
        self._values[n] = row[_NB:]
        if self._unseen:  # columns still in their lookback
            self._unseen = [j for j in self._unseen if math.isnan(row[_NB + j])]
            self._first = [n if f < 0 and j not in self._unseen else f
                           for j, f in enumerate(self._first)]  # fmt: skip
        self._n = n + 1
        return self._ro[n]

    def last_row(self) -> F64 | None:
        """The latest bar's row (read-only), or None before any."""
        return self._ro[self._n - 1] if self._n else None

    def rows(self, count: int, index: list[int]) -> F64:
        """Columns ``index`` of the last ``count`` rows (fewer if there are fewer), a copy."""
        return self._values[max(0, self._n - count) : self._n, index]

    @property
    def warmup(self) -> int:
        """As ``FeatureFrame.warmup``: rows before every column has had its first value."""
        if not self._first or not self._n:
            return 0
        return self._n if min(self._first) < 0 else max(self._first)

    def frame(self) -> FeatureFrame:
        """Every row so far as a ``FeatureFrame`` (read-only views; O(1))."""
        ts = self._ts[: self._n].view()
        ts.flags.writeable = False
        return FeatureFrame(ts, self.columns, self._ro[: self._n], self.warmup)

    def bars(self) -> BarSeries:
        """The bars so far (copies)."""
        n = self._n
        cols = {f: self._bars[:n, i].copy() for i, f in enumerate(BAR_FIELDS)}
        return BarSeries(self._ts[:n].copy(), **cols)

    def _grow(self) -> None:
        cap = 2 * len(self._ts)
        for name in ("_ts", "_bars", "_values"):
            old = getattr(self, name)
            new = np.empty((cap, *old.shape[1:]), old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)
        self._read_only()

    def _read_only(self) -> None:
        self._ro = self._values.view()
        self._ro.flags.writeable = False

    def _compile(self, spec: FeatureSpec) -> list[tuple[Step, int]]:
        """One step per feature (TA-Lib features that differ only in their output share one)
        and the output it contributes (-1: all of them), in spec order."""
        where = {f: i for i, f in enumerate(BAR_FIELDS)}
        where.update({c: _NB + j for j, c in enumerate(self.columns)})
        shared: dict[tuple[Any, ...], TalibNode] = {}
        program: list[tuple[Step, int]] = []
        for feat in spec.features:
            node: Step
            x = where[feat.input or "close"]
            if feat.fn == "log_return":
                node = LogReturn(int(feat.param("period")), x, self._history(x))
            elif feat.fn == "zscore":
                window, ddof = int(feat.param("window")), int(feat.param("ddof"))
                node = ZScore(window, ddof, x, self._history(x))
            elif feat.fn == "spread":
                node = Spread(feat.name)
            elif feat.fn in ("time_of_day", "day_of_week"):
                node = Cyclic(feat.fn)
            else:
                program.append(self._talib(feat, where, shared))
                continue
            program.append((node, -1))
        return program

    def _talib(
        self, feat: FeatureDef, where: dict[str, int], shared: dict[tuple[Any, ...], TalibNode]
    ) -> tuple[Step, int]:
        positions = [where[s] for s in talib_sources(feat)]
        params = talib_kwargs(feat)
        key = (feat.fn, tuple(positions), tuple(sorted(params.items())))
        if key not in shared:
            shared[key] = TalibNode(feat.fn, params, positions, self._inputs(positions))
        output = 0 if feat.output is None else talib_outputs(feat.fn).index(feat.output)
        return shared[key], output

    def _column(self, p: int) -> F64:
        table = self._bars if p < _NB else self._values
        return np.ascontiguousarray(table[: self._n, p if p < _NB else p - _NB])

    def _history(self, p: int) -> Any:
        return lambda: self._column(p)

    def _inputs(self, positions: list[int]) -> Any:
        def columns(row: list[float] | None) -> list[F64]:
            if row is None:
                return [self._column(p) for p in positions]
            return [np.append(self._column(p), row[p]) for p in positions]

        return columns
