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
The bars and feature rows are kept in preallocated arrays that double when full
(``features.table``: amortised O(1) a bar), so ``frame()`` and ``bars()`` are views or copies on
demand, not rebuilt per bar. TA-Lib refuses ``talib.set_unstable_period`` (RuntimeError) while a
stream handle is open: an engine holds handles until it is dropped (we never call it).
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
from tradewind.features.table import NB, Table

F64 = npt.NDArray[np.float64]


class Step(Protocol):
    """A feature's state: ``start`` once the table holds the history; ``step`` gives a bar's
    outputs from its ``row`` (bar fields, then the columns computed before it)."""

    def start(self) -> None: ...

    def step(
        self, row: list[float], n: int, ts: int, spread: float | None
    ) -> tuple[float, ...]: ...


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
        self._table = Table(h, frame.values, capacity)
        finite = ~np.isnan(frame.values)
        k = len(self.columns)
        self._first = [int(finite[:, j].argmax()) if finite[:, j].any() else -1 for j in range(k)]
        self._unseen = [j for j, f in enumerate(self._first) if f < 0]
        self._program = self._compile(spec)
        for node, _ in self._program:
            node.start()

    def __len__(self) -> int:
        return self._table.n

    @property
    def last_ts(self) -> int | None:
        t = self._table
        return int(t.ts[t.n - 1]) if t.n else None

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
        n = self._table.n
        row = [float(open), float(high), float(low), float(close), float(volume)]
        for node, pick in self._program:
            out = node.step(row, n, ts, spread)
            if pick < 0:
                row.extend(out)
            else:
                row.append(out[pick])
        if self._unseen:  # columns still in their lookback
            self._unseen = [j for j in self._unseen if math.isnan(row[NB + j])]
            self._first = [n if f < 0 and j not in self._unseen else f
                           for j, f in enumerate(self._first)]  # fmt: skip
        return self._table.append(ts, row)

    def last_row(self) -> F64 | None:
        """The latest bar's row (read-only), or None before any."""
        t = self._table
        return t.ro[t.n - 1, NB:] if t.n else None

    def rows(self, count: int, index: list[int]) -> F64:
        """Columns ``index`` of the last ``count`` rows (fewer if there are fewer), a copy."""
        t = self._table
        return t.values(max(0, t.n - count))[:, index]

    @property
    def warmup(self) -> int:
        """As ``FeatureFrame.warmup``: rows before every column has had its first value."""
        if not self._first or not self._table.n:
            return 0
        return self._table.n if min(self._first) < 0 else max(self._first)

    def frame(self) -> FeatureFrame:
        """Every row so far as a ``FeatureFrame`` (read-only views; O(1))."""
        t = self._table
        return FeatureFrame(t.timestamps(), self.columns, t.values(), self.warmup)

    def bars(self) -> BarSeries:
        """The bars so far (copies)."""
        return self._table.series()

    def _compile(self, spec: FeatureSpec) -> list[tuple[Step, int]]:
        """One step per feature (TA-Lib features that differ only in their output share one)
        and the output it contributes (-1: all of them), in spec order."""
        where = {f: i for i, f in enumerate(BAR_FIELDS)}
        where.update({c: NB + j for j, c in enumerate(self.columns)})
        shared: dict[tuple[Any, ...], TalibNode] = {}
        program: list[tuple[Step, int]] = []
        for feat in spec.features:
            node: Step
            x = where[feat.input or "close"]
            if feat.fn == "log_return":
                node = LogReturn(int(feat.param("period")), x, self._table.history(x))
            elif feat.fn == "zscore":
                window, ddof = int(feat.param("window")), int(feat.param("ddof"))
                node = ZScore(window, ddof, x, self._table.history(x))
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
            shared[key] = TalibNode(feat.fn, params, positions, self._table.inputs(positions))
        output = 0 if feat.output is None else talib_outputs(feat.fn).index(feat.output)
        return shared[key], output
