"""Parameter sweeps of the vectorised engine: grid or random search, across all cores.

A grid is ``"fast=5:50:5,slow=20:200:10"``: ``start:stop:step`` with ``stop`` included, or a
single value; integers stay integers. Each point's signals (one array per instrument) run
through ``run_vector`` and are scored by ``compute_metrics``; the result is every point, best
``target`` first (NaN scores last).

Features are computed once per distinct parameter: a ``SignalModel`` names the feature lines
each point reads (SMA(10), SMA(30), ...), every distinct line is computed once up front into
a ``FeatureCache`` and each point only turns its lines into signals and simulates. A plain
``SignalFn(bars, params)`` computes each point's signals alone.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tradewind.backtest.feature_cache import FeatureCache
from tradewind.backtest.metrics import compute_metrics
from tradewind.backtest.vector import run_vector, sma_crossover_signals
from tradewind.config.backtest import BacktestConfig
from tradewind.domain.series import BarSeries

Target = Literal["sharpe", "total_return", "calmar"]
TARGETS: tuple[str, ...] = ("sharpe", "total_return", "calmar")
Params = dict[str, Any]
SignalFn = Callable[[Mapping[str, BarSeries], Params], Mapping[str, npt.NDArray[np.float64]]]
Progress = Callable[[int, int], None]  # (points done, points in all)


@dataclass(frozen=True)
class SweepRow:
    params: Params
    score: float
    metrics: dict[str, float]


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def parse_grid(spec: str) -> dict[str, list[int | float]]:
    """``"a=1:5:2,b=0.5"`` → ``{"a": [1, 3, 5], "b": [0.5]}``."""
    grid: dict[str, list[int | float]] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, rng = part.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ValueError(f"grid part {part!r} is not name=start:stop:step")
        bits = [b.strip() for b in rng.split(":")]
        try:
            nums = [_number(b) for b in bits]
        except ValueError:
            raise ValueError(f"grid part {part!r}: not numbers") from None
        if len(nums) == 1:
            grid[name] = nums
            continue
        if len(nums) != 3 or nums[2] <= 0 or nums[1] < nums[0]:
            raise ValueError(f"grid part {part!r}: want start:stop:step, step > 0, start <= stop")
        start, stop, step = nums
        count = math.floor((stop - start) / step + 1e-9) + 1
        values = [start + i * step for i in range(count)]
        grid[name] = [v if isinstance(v, int) else round(v, 12) for v in values]
    if not grid:
        raise ValueError("empty grid")
    return grid


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[Params]:
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


def random_points(grid: Mapping[str, Sequence[Any]], n: int, seed: int = 0) -> list[Params]:
    """``n`` distinct points drawn uniformly from the grid (all of them if it has fewer)."""
    points = grid_points(grid)
    if n >= len(points):
        return points
    pick = np.random.default_rng(seed).choice(len(points), size=n, replace=False)
    return [points[i] for i in sorted(pick)]


def _sma(x: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.float64]:
    out = np.full(len(x), np.nan)
    if 0 < n <= len(x):
        c = np.cumsum(np.insert(x, 0, 0.0))
        out[n - 1 :] = (c[n:] - c[:-n]) / n
    return out


@dataclass(frozen=True)
class SignalModel:
    """A strategy's sweep points as signals, in steps that let points share their features.

    ``features(params)`` names the feature lines a point reads (hashable keys, e.g.
    ``("sma", 10)``); ``compute(bars, key)`` computes one line over one instrument's bars;
    ``signal(lines, params)`` turns a point's lines, in ``features`` order, into one
    instrument's target signal. The functions must be module-level (sent to worker
    processes). Calling the model, ``model(bars, params)``, is a ``SignalFn``: one point's
    signals, its features computed for it alone.
    """

    features: Callable[[Params], tuple[Hashable, ...]]
    compute: Callable[[BarSeries, Hashable], npt.NDArray[np.float64]]
    signal: Callable[[Sequence[npt.NDArray[np.float64]], Params], npt.NDArray[np.float64]]

    def __call__(
        self, bars: Mapping[str, BarSeries], params: Params
    ) -> dict[str, npt.NDArray[np.float64]]:
        keys = self.features(params)
        return {s: self.signal([self.compute(b, k) for k in keys], params) for s, b in bars.items()}

    def cached(
        self, cache: FeatureCache, symbols: Sequence[str], params: Params
    ) -> dict[str, npt.NDArray[np.float64]]:
        """One point's signals, its features read from ``cache``."""
        keys = self.features(params)
        return {s: self.signal([cache.line(s, k) for k in keys], params) for s in symbols}

    def cache(self, bars: Mapping[str, BarSeries], points: Sequence[Params]) -> FeatureCache:
        """A cache holding every feature line of ``points``, each computed once."""
        cache = FeatureCache(bars, self.compute)
        cache.warm(k for p in points for k in self.features(p))
        return cache


def _sma_keys(params: Params) -> tuple[Hashable, ...]:
    return (("sma", int(params["fast"])), ("sma", int(params["slow"])))


def _sma_line(bars: BarSeries, key: Hashable) -> npt.NDArray[np.float64]:
    assert isinstance(key, tuple)  # ("sma", period)
    return _sma(bars.close, int(key[1]))


def _sma_signal(
    lines: Sequence[npt.NDArray[np.float64]], params: Params
) -> npt.NDArray[np.float64]:
    return sma_crossover_signals(lines[0], lines[1], bool(params.get("allow_short", False)))


# SMA crossover for a sweep: ``fast``, ``slow`` periods (SMA by running sums), optional
# ``allow_short``; callable as ``sma_crossover_signal_fn(bars, params)`` for one point.
sma_crossover_signal_fn = SignalModel(_sma_keys, _sma_line, _sma_signal)


_STATE: dict[str, Any] = {}


def _init(state: dict[str, Any]) -> None:
    _STATE.clear()
    _STATE.update(state)


def _evaluate(i: int, params: Params) -> tuple[int, dict[str, float]]:
    st = _STATE
    bars, fn, cache = st["bars"], st["fn"], st["cache"]
    sig = fn.cached(cache, tuple(bars), params) if cache is not None else fn(bars, params)
    result = run_vector(
        bars, sig, st["cfg"], st["name"], params, st["pips"], units_precision=st["precision"]
    )
    return i, compute_metrics(result, st["ppy"])


def score(
    bars: Mapping[str, BarSeries],
    signal_fn: SignalFn | SignalModel,
    points: Sequence[Params],
    cfg: BacktestConfig,
    periods_per_year: float,
    max_workers: int | None = None,
    progress: Progress | None = None,
    strategy_name: str = "sweep",
    pip_locations: Mapping[str, int] | None = None,
    units_precision: Mapping[str, int] | None = None,
    cache: FeatureCache | None = None,
) -> list[dict[str, float]]:
    """``compute_metrics`` of every point on the vectorised engine, in ``points`` order.

    With a ``SignalModel`` every distinct feature line of the points is computed once, here,
    before any point runs (in ``cache`` if given, else a new one), and every point reads it
    from there; a plain ``SignalFn`` computes each point's signals alone. ``max_workers=1``
    runs here (default: all cores); workers are forked and inherit the cache. ``progress``
    is called after each finished point with (done, total)."""
    bars = dict(bars)
    if isinstance(signal_fn, SignalModel):
        if cache is None:
            cache = signal_fn.cache(bars, points)
        else:
            cache.warm(k for p in points for k in signal_fn.features(p))
    state = {
        "bars": bars,
        "fn": signal_fn,
        "cache": cache if isinstance(signal_fn, SignalModel) else None,
        "cfg": cfg,
        "ppy": periods_per_year,
        "name": strategy_name,
        "pips": pip_locations,
        "precision": units_precision,
    }
    workers = max_workers or os.cpu_count() or 1
    total = len(points)
    out: list[dict[str, float] | None] = [None] * total
    if workers == 1 or total < 2:
        _init(state)
        for i, p in enumerate(points):
            out[i] = _evaluate(i, p)[1]
            if progress:
                progress(i + 1, total)
    else:
        with ProcessPoolExecutor(min(workers, total), initializer=_init, initargs=(state,)) as pool:
            futures = [pool.submit(_evaluate, i, p) for i, p in enumerate(points)]
            for done, fut in enumerate(as_completed(futures), start=1):
                i, m = fut.result()
                out[i] = m
                if progress:
                    progress(done, total)
    return [m for m in out if m is not None]


def run_sweep(
    bars: Mapping[str, BarSeries],
    signal_fn: SignalFn | SignalModel,
    points: Sequence[Params],
    cfg: BacktestConfig,
    target: Target,
    periods_per_year: float,
    max_workers: int | None = None,
    strategy_name: str = "sweep",
    cache: FeatureCache | None = None,
) -> list[SweepRow]:
    """Evaluate every point (``score``); ``max_workers=1`` runs in this process (default: all
    cores). ``signal_fn`` must be module-level (it is sent to worker processes)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    metrics = score(
        bars,
        signal_fn,
        points,
        cfg,
        periods_per_year,
        max_workers,
        None,
        strategy_name,
        cache=cache,
    )
    rows = [SweepRow(dict(p), float(m[target]), m) for p, m in zip(points, metrics, strict=True)]
    rows.sort(key=lambda r: (math.isnan(r.score), -r.score if not math.isnan(r.score) else 0))
    return rows
