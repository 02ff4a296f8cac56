"""Parameter sweeps of the vectorised engine: grid or random search, across all cores.

A grid is ``"fast=5:50:5,slow=20:200:10"``: ``start:stop:step`` with ``stop`` included, or a
single value; integers stay integers. Each point runs ``signal_fn(bars, params)`` (one signal
array per instrument) through ``run_vector`` and is scored by ``compute_metrics``; the result
is every point, best ``target`` first (NaN scores last).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tradewind.backtest.metrics import compute_metrics
from tradewind.backtest.vector import run_vector, sma_crossover_signals
from tradewind.config.backtest import BacktestConfig
from tradewind.domain.series import BarSeries

Target = Literal["sharpe", "total_return", "calmar"]
TARGETS: tuple[str, ...] = ("sharpe", "total_return", "calmar")
Params = dict[str, Any]
SignalFn = Callable[[Mapping[str, BarSeries], Params], Mapping[str, npt.NDArray[np.float64]]]


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


def sma_crossover_signal_fn(
    bars: Mapping[str, BarSeries], params: Params
) -> dict[str, npt.NDArray[np.float64]]:
    """SMA crossover for a sweep: ``fast``, ``slow`` periods, optional ``allow_short``."""
    fast, slow = int(params["fast"]), int(params["slow"])
    short = bool(params.get("allow_short", False))
    return {
        s: sma_crossover_signals(_sma(b.close, fast), _sma(b.close, slow), short)
        for s, b in bars.items()
    }


_STATE: dict[str, Any] = {}


def _init(bars: Any, cfg: Any, fn: Any, ppy: float, name: str) -> None:
    _STATE.update(bars=bars, cfg=cfg, fn=fn, ppy=ppy, name=name)


def _evaluate(params: Params) -> dict[str, float]:
    st = _STATE
    result = run_vector(st["bars"], st["fn"](st["bars"], params), st["cfg"], st["name"], params)
    return compute_metrics(result, st["ppy"])


def run_sweep(
    bars: Mapping[str, BarSeries],
    signal_fn: SignalFn,
    points: Sequence[Params],
    cfg: BacktestConfig,
    target: Target,
    periods_per_year: float,
    max_workers: int | None = None,
    strategy_name: str = "sweep",
) -> list[SweepRow]:
    """Evaluate every point; ``max_workers=1`` runs in this process (default: all cores).
    ``signal_fn`` must be a module-level function (it is sent to worker processes)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    args = (dict(bars), cfg, signal_fn, periods_per_year, strategy_name)
    workers = max_workers or os.cpu_count() or 1
    if workers == 1 or len(points) < 2:
        _init(*args)
        metrics = [_evaluate(p) for p in points]
    else:
        chunk = max(1, len(points) // (workers * 4))
        with ProcessPoolExecutor(workers, initializer=_init, initargs=args) as pool:
            metrics = list(pool.map(_evaluate, points, chunksize=chunk))
    rows = [SweepRow(dict(p), float(m[target]), m) for p, m in zip(points, metrics, strict=True)]
    rows.sort(key=lambda r: (math.isnan(r.score), -r.score if not math.isnan(r.score) else 0))
    return rows
