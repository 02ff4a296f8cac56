"""Parameter sweeps and walk-forward analysis of a backtest config's first strategy.

The vectorised engine scores every grid point; the ``top`` best are re-run on Backtrader
through ``run_backtest`` and stored. Supported strategy: the shipped SMA crossover, whose grid
parameters ``fast``/``slow`` are the periods of its ``sma_fast``/``sma_slow`` features (made by
``build_features`` with TA-Lib's SMA, the same code a backtest uses); any other grid parameter
(e.g. ``allow_short``) is a strategy parameter. Points with ``fast >= slow`` are skipped.

Targets: ``sharpe``, ``total_return``, ``calmar``, or ``module:function`` naming
``f(metrics: dict[str, float]) -> float``. Higher is better; NaN ranks last.

Every point reads its SMA lines from a ``FeatureCache``: each distinct period is computed once
per instrument (and per walk-forward train window), not once per point.

Walk-forward splits the bars into consecutive folds: each fold picks its best point on its
train window alone, then trades that point on the following test window alone (features are
warmed up on earlier bars, signals start flat at the window's first bar, so only crosses
inside the window trade). Only test-window (out-of-sample) results are reported; their
equity curves are chained into one stitched out-of-sample curve.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine

from tradewind.backtest.bt_engine import STRATEGIES_DIR
from tradewind.backtest.feature_cache import FeatureCache
from tradewind.backtest.metrics import compute_metrics
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.sweep import TARGETS, Params, SignalModel, grid_points, parse_grid, score
from tradewind.backtest.vector import run_vector, sma_crossover_signals
from tradewind.config.backtest import BacktestConfig, StrategySpec
from tradewind.config.features import FeatureDef, FeatureSpec
from tradewind.domain.series import BarSeries
from tradewind.features import build_features
from tradewind.pipelines.backtest import (
    InstrumentTerms,
    instrument_terms,
    load_inputs,
    run_backtest,
)

F64 = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]  # (points done, points in all)
SUPPORTED = ("sma_crossover",)
FEATURE_PARAMS = ("fast", "slow")


class SweepError(ValueError):
    """A sweep cannot start: bad grid, unknown target, unsupported strategy."""


# ------------------------------------------------------------------------------ the strategy


def sma_feature_spec(fast: int, slow: int, params: Mapping[str, Any] | None = None) -> FeatureSpec:
    """The SMA crossover's two feature lines for one point, named as the strategy reads them."""
    p = params or {}
    return FeatureSpec(
        name=f"sweep-sma-{fast}-{slow}",
        features=(
            FeatureDef(
                name=str(p.get("fast_feature", "sma_fast")),
                fn="SMA",
                params={"timeperiod": int(fast)},
            ),
            FeatureDef(
                name=str(p.get("slow_feature", "sma_slow")),
                fn="SMA",
                params={"timeperiod": int(slow)},
            ),
        ),
    )


def sma_lines(bars: BarSeries, params: Mapping[str, Any]) -> tuple[F64, F64]:
    """``(sma_fast, sma_slow)`` of ``bars`` for a point, through ``build_features``."""
    spec = sma_feature_spec(int(params["fast"]), int(params["slow"]))
    frame = build_features(bars, spec)
    return frame.values[:, 0].astype(np.float64), frame.values[:, 1].astype(np.float64)


def sma_feature_signal_fn(bars: Mapping[str, BarSeries], params: Params) -> dict[str, F64]:
    """Signals of a point on every instrument (module level: sent to worker processes)."""
    short = bool(params.get("allow_short", False))
    out = {}
    for s, b in bars.items():
        fast, slow = sma_lines(b, params)
        out[s] = sma_crossover_signals(fast, slow, short)
    return out


def _strategy(cfg: BacktestConfig) -> StrategySpec:
    spec = cfg.strategies[0]
    if spec.name.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py") not in SUPPORTED:
        raise SweepError(
            f"sweeps support the {', '.join(SUPPORTED)} strategy, not {spec.name!r} "
            "(the config's first strategy is swept)"
        )
    return spec


def _check_grid(grid: Mapping[str, Sequence[Any]]) -> None:
    missing = [k for k in FEATURE_PARAMS if k not in grid]
    if missing:
        raise SweepError(f"grid: the SMA crossover sweep needs {' and '.join(missing)}")
    for k in FEATURE_PARAMS:
        bad = [v for v in grid[k] if not float(v).is_integer() or v < 1]
        if bad:
            raise SweepError(f"grid part {k}: periods must be whole numbers >= 1, got {bad[0]}")


def _point_params(strategy: StrategySpec, point: Params) -> Params:
    """Strategy params merged with the point (fast/slow included, for the signal function)."""
    return {**strategy.params, **point}


def _parse(grid: str) -> dict[str, list[int | float]]:
    try:
        return parse_grid(grid)
    except ValueError as exc:
        raise SweepError(f"bad grid {grid!r}: {exc}") from None


# ---------------------------------------------------------------------------------- targets


Scorer = Callable[[dict[str, float]], float]


def resolve_target(target: str) -> tuple[str, Scorer]:
    """``(label, scorer)`` for a built-in metric name or ``module:function``."""
    if target in TARGETS:
        return target, lambda m: float(m[target])
    mod_name, sep, fn_name = target.partition(":")
    if not sep or not mod_name or not fn_name:
        raise SweepError(
            f"unknown target {target!r}: choose {', '.join(TARGETS)} or module:function"
        )
    try:
        module = importlib.import_module(mod_name)
    except ImportError as exc:
        raise SweepError(f"target {target!r}: cannot import {mod_name!r} ({exc})") from None
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise SweepError(f"target {target!r}: {mod_name} has no function {fn_name!r}")

    def score(m: dict[str, float]) -> float:
        return float(fn(dict(m)))

    return target, score


def _rank_key(score: float) -> tuple[bool, float]:
    return (math.isnan(score), -score if not math.isnan(score) else 0.0)


# ------------------------------------------------------------------------- parallel scoring


def _feature_keys(params: Params) -> tuple[Hashable, ...]:
    return (("SMA", int(params["fast"])), ("SMA", int(params["slow"])))


def _feature_line(bars: BarSeries, key: Hashable) -> F64:
    """One SMA line through ``build_features`` (TA-Lib; a column does not depend on the
    others of its spec, so it equals ``sma_lines``' to the bit)."""
    assert isinstance(key, tuple)  # ("SMA", period)
    period = int(key[1])
    spec = FeatureSpec(
        name=f"sweep-sma-{period}",
        features=(FeatureDef(name="sma", fn="SMA", params={"timeperiod": period}),),
    )
    return build_features(bars, spec).values[:, 0].astype(np.float64)


def _feature_signal(lines: Sequence[F64], params: Params) -> F64:
    return sma_crossover_signals(lines[0], lines[1], bool(params.get("allow_short", False)))


# The SMA crossover's points: SMA(fast) and SMA(slow) computed once per distinct period.
SMA_FEATURES = SignalModel(_feature_keys, _feature_line, _feature_signal)


def score_points(
    bars: Mapping[str, BarSeries],
    points: Sequence[Params],
    cfg: BacktestConfig,
    ppy: float,
    max_workers: int | None = None,
    progress: Progress | None = None,
    strategy_name: str = "sweep",
    pip_locations: Mapping[str, int] | None = None,
    units_precision: Mapping[str, int] | None = None,
    cache: FeatureCache | None = None,
) -> list[dict[str, float]]:
    """Metrics of every point on the vectorised engine, in ``points`` order; ``progress`` is
    called after each finished point. ``max_workers=1`` runs here (default: all cores).
    ``ppy`` and ``pip_locations`` are the instruments' (``instrument_terms``): bars a year
    on their calendars, and the pip a fixed spread is priced in (default: -4, EUR_USD's);
    ``units_precision`` rounds orders as the Backtrader broker does (default: not rounded).
    Each distinct SMA period is computed once per instrument (into ``cache`` if given)."""
    return score(
        bars,
        SMA_FEATURES,
        points,
        cfg,
        ppy,
        max_workers,
        progress,
        strategy_name,
        pip_locations,
        units_precision,
        cache,
    )


# -------------------------------------------------------------------------------- the sweep


@dataclass
class RankedPoint:
    params: Params  # the grid point (fast, slow, ...)
    score: float
    metrics: dict[str, float]


@dataclass
class Rerun:
    run_id: str
    params: Params
    metrics: dict[str, float]


@dataclass
class SweepReport:
    target: str
    points: list[RankedPoint]  # best first
    skipped: int  # points with fast >= slow
    rerun: list[Rerun] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "points": [
                {
                    "rank": i,
                    "params": p.params,
                    "target": clean(p.score),
                    "metrics": cleand(p.metrics),
                }
                for i, p in enumerate(self.points, start=1)
            ],
            "skipped": self.skipped,
            "rerun": [
                {"run_id": r.run_id, "params": r.params, "metrics": cleand(r.metrics)}
                for r in self.rerun
            ],
        }


def _iso(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1e6, UTC).isoformat()


def clean(v: float) -> Any:
    return v if isinstance(v, (int, float)) and math.isfinite(v) else str(v)


def cleand(m: Mapping[str, float]) -> dict[str, Any]:
    return {k: clean(v) for k, v in m.items()}


def _points(
    grid: str | None, n_random: int | None, seed: int
) -> tuple[list[Params], int, dict[str, list[Any]]]:
    if not grid:
        raise SweepError("a grid is required (e.g. --grid 'fast=5:50:5,slow=20:200:10')")
    g = _parse(grid)
    _check_grid(g)
    pts = [p for p in grid_points(g) if int(p["fast"]) < int(p["slow"])]
    skipped = len(grid_points(g)) - len(pts)
    if n_random is not None:
        if n_random < 1:
            raise SweepError("--random: want at least 1 point")
        if n_random < len(pts):  # backtest.sweep.random_points' draw, over valid points only
            pick = np.random.default_rng(seed).choice(len(pts), size=n_random, replace=False)
            pts = [pts[i] for i in sorted(pick)]
    if not pts:
        raise SweepError(f"grid {grid!r}: every point has fast >= slow")
    return pts, skipped, g


def rank(
    points: Sequence[Params], metrics: Sequence[dict[str, float]], scorer: Scorer
) -> list[RankedPoint]:
    rows = [RankedPoint(dict(p), scorer(m), m) for p, m in zip(points, metrics, strict=True)]
    rows.sort(key=lambda r: _rank_key(r.score))
    return rows


def sweep(
    engine: Engine,
    cfg: BacktestConfig,
    grid: str | None,
    n_random: int | None,
    target: str,
    top: int = 3,
    seed: int = 0,
    max_workers: int | None = None,
    progress: Progress | None = None,
    strategies_dir: str | Path | None = None,
) -> SweepReport:
    """Score the grid (or ``n_random`` points of it) on the vectorised engine, rank by
    ``target``, and re-run the ``top`` best on Backtrader (stored runs)."""
    strategy = _strategy(cfg)
    label, scorer = resolve_target(target)
    pts, skipped, _ = _points(grid, n_random, seed)
    bars, _features = load_inputs(engine, cfg, sma_feature_spec(2, 3))
    terms = instrument_terms(engine, cfg.instruments, cfg.timeframe)
    full = [_point_params(strategy, p) for p in pts]
    metrics = score_points(
        bars,
        full,
        cfg,
        terms.periods_per_year,
        max_workers,
        progress,
        strategy.name,
        terms.pip_locations,
        terms.units_precision,
    )
    ranked = rank(pts, metrics, scorer)
    reruns = [rerun_point(engine, cfg, p.params, strategies_dir) for p in ranked[: max(top, 0)]]
    return SweepReport(label, ranked, skipped, reruns)


def rerun_point(
    engine: Engine, cfg: BacktestConfig, point: Params, strategies_dir: str | Path | None = None
) -> Rerun:
    """Backtest one point on Backtrader and store it: fast/slow become the feature spec, the
    rest of the point the strategy's params (only the config's first strategy runs).
    ``strategies_dir`` defaults to ./strategies when it exists, else the repository's."""
    if strategies_dir is None:
        strategies_dir = "strategies" if Path("strategies").is_dir() else STRATEGIES_DIR
    one, spec = point_run_config(cfg, point)
    run = run_backtest(engine, one, strategies_dir, feature_spec=spec)
    return Rerun(run.run_id, dict(point), run.results[0].metrics)


def point_run_config(cfg: BacktestConfig, point: Params) -> tuple[BacktestConfig, FeatureSpec]:
    """The one-strategy config and the feature spec a point's Backtrader re-run uses."""
    strategy = _strategy(cfg)
    sparams = {**strategy.params, **{k: v for k, v in point.items() if k not in FEATURE_PARAMS}}
    spec = sma_feature_spec(int(point["fast"]), int(point["slow"]), sparams)
    tag = ",".join(f"{k}={v}" for k, v in point.items())
    one = cfg.model_copy(
        update={
            "name": f"{cfg.name} sweep {tag}",
            "strategies": (StrategySpec(name=strategy.name, params=sparams),),
        }
    )
    return one, spec


# ------------------------------------------------------------------------------ walk-forward


@dataclass
class Fold:
    index: int
    train: tuple[int, int]  # bar index range [start, stop)
    test: tuple[int, int]
    train_ts: tuple[int, int]  # first and last bar times (µs) of each window
    test_ts: tuple[int, int]
    params: Params  # chosen on the train window
    train_score: float
    metrics: dict[str, float]  # out-of-sample, on the test window

    def to_json(self) -> dict[str, Any]:
        return {
            "fold": self.index,
            "train": list(self.train),
            "test": list(self.test),
            "train_period": [_iso(t) for t in self.train_ts],
            "test_period": [_iso(t) for t in self.test_ts],
            "params": self.params,
            "train_score": clean(self.train_score),
            "oos_metrics": cleand(self.metrics),
        }


@dataclass
class WalkForwardReport:
    target: str
    mode: str
    folds: list[Fold]
    oos: BacktestResult  # the stitched out-of-sample curve
    oos_metrics: dict[str, float]
    skipped: int

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "mode": self.mode,
            "skipped": self.skipped,
            "folds": [f.to_json() for f in self.folds],
            "oos_metrics": cleand(self.oos_metrics),
        }


def fold_windows(
    n: int, train_bars: int, test_bars: int, mode: Literal["rolling", "expanding"]
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """``[(train, test), ...]`` index ranges: consecutive, non-overlapping test windows; the
    last test window may be shorter (at least 2 bars)."""
    if train_bars < 2 or test_bars < 2:
        raise SweepError("train and test windows need at least 2 bars each")
    if mode not in ("rolling", "expanding"):
        raise SweepError(f"mode {mode!r}: choose rolling or expanding")
    out = []
    start = train_bars
    while n - start >= 2:
        stop = min(start + test_bars, n)
        train = (start - train_bars, start) if mode == "rolling" else (0, start)
        out.append((train, (start, stop)))
        start = stop
    if not out:
        raise SweepError(
            f"{n} bars are too few for a {train_bars}-bar train and a test window of 2+ bars"
        )
    return out


def _slice(bars: Mapping[str, BarSeries], lo: int, hi: int) -> dict[str, BarSeries]:
    idx = np.arange(lo, hi)
    return {s: b.take(idx) for s, b in bars.items()}


def select_on(
    bars: Mapping[str, BarSeries],
    points: Sequence[Params],
    cfg: BacktestConfig,
    scorer: Scorer,
    ppy: float,
    max_workers: int | None = None,
    pip_locations: Mapping[str, int] | None = None,
    units_precision: Mapping[str, int] | None = None,
) -> RankedPoint:
    """The best point on ``bars`` alone (a fold's train window)."""
    metrics = score_points(
        bars,
        points,
        cfg,
        ppy,
        max_workers,
        pip_locations=pip_locations,
        units_precision=units_precision,
    )
    return rank(points, metrics, scorer)[0]


def evaluate_oos(
    bars: Mapping[str, BarSeries],
    params: Params,
    cfg: BacktestConfig,
    warm_from: int,
    test: tuple[int, int],
    strategy_name: str,
    pip_locations: Mapping[str, int] | None = None,
    units_precision: Mapping[str, int] | None = None,
) -> BacktestResult:
    """Trade ``params`` on bars ``test`` only; features use bars ``warm_from..test[1]`` (so
    warm-up reads earlier bars, never later ones), signals start flat at ``test[0]``; a fixed
    spread is in ``pip_locations``' pips (the instruments', from ``instrument_terms``)."""
    lo, hi = test
    window = _slice(bars, lo, hi)
    short = bool(params.get("allow_short", False))
    signals = {}
    for s, b in _slice(bars, warm_from, hi).items():
        fast, slow = sma_lines(b, params)
        k = lo - warm_from
        signals[s] = sma_crossover_signals(fast[k:], slow[k:], short)
    return run_vector(
        window, signals, cfg, strategy_name, params, pip_locations, units_precision=units_precision
    )


def stitch(results: Sequence[BacktestResult], cash: float, name: str) -> BacktestResult:
    """Chain test-window curves: each starts where the previous ended (compounded); the
    windows' financing is scaled as their curves are (None if a window did not model it)."""
    equity: list[F64] = []
    financing: list[float] | None = []
    level = cash
    for r in results:
        e = np.asarray(r.equity, dtype=np.float64)
        equity.append(e / e[0] * level)
        if financing is not None and r.financing is not None:
            financing.append(r.financing / e[0] * level)
        else:
            financing = None
        level = float(equity[-1][-1])
    first = results[0]
    return BacktestResult(
        strategy=name,
        params={},
        instruments=first.instruments,
        ts_us=np.concatenate([r.ts_us for r in results]),
        equity=np.concatenate(equity),
        exposure=np.concatenate([np.asarray(r.exposure) for r in results]),
        fills=[f for r in results for f in r.fills],
        trades=[t for r in results for t in r.trades],
        financing=None if financing is None else math.fsum(financing),
    )


def walkforward(
    engine: Engine,
    cfg: BacktestConfig,
    grid: str,
    target: str,
    train_bars: int,
    test_bars: int,
    mode: Literal["rolling", "expanding"] = "rolling",
    n_random: int | None = None,
    seed: int = 0,
    max_workers: int | None = None,
    progress: Progress | None = None,
) -> WalkForwardReport:
    """Choose on each train window, trade on the next test window; out-of-sample only."""
    strategy = _strategy(cfg)
    label, scorer = resolve_target(target)
    pts, skipped, _ = _points(grid, n_random, seed)
    bars, _features = load_inputs(engine, cfg, sma_feature_spec(2, 3))
    n = len(next(iter(bars.values())))
    windows = fold_windows(n, train_bars, test_bars, mode)
    terms = instrument_terms(engine, cfg.instruments, cfg.timeframe)
    full = [_point_params(strategy, p) for p in pts]
    folds: list[Fold] = []
    oos: list[BacktestResult] = []
    for k, (train, test) in enumerate(windows):
        fold, result = run_fold(
            bars, cfg, full, list(pts[0]), scorer, k, train, test, terms, max_workers
        )
        folds.append(fold)
        oos.append(result)
        if progress:
            progress(k + 1, len(windows))
    stitched = stitch(oos, cfg.cash, strategy.name)
    stitched.metrics = compute_metrics(stitched, terms.periods_per_year)
    return WalkForwardReport(label, mode, folds, stitched, stitched.metrics, skipped)


def run_fold(
    bars: Mapping[str, BarSeries],
    cfg: BacktestConfig,
    full: Sequence[Params],
    keys: Sequence[str],
    scorer: Scorer,
    index: int,
    train: tuple[int, int],
    test: tuple[int, int],
    terms: InstrumentTerms,
    max_workers: int | None = None,
) -> tuple[Fold, BacktestResult]:
    """One fold: the best of ``full`` (strategy params + point) on the train window alone,
    traded on the test window; the fold reports the point's ``keys`` only. ``terms`` (the
    instruments' bars a year and pips, ``instrument_terms``) score and cost both windows."""
    strategy = _strategy(cfg)
    ppy, pips, precision = terms.periods_per_year, terms.pip_locations, terms.units_precision
    ts = next(iter(bars.values())).ts
    best = select_on(_slice(bars, *train), full, cfg, scorer, ppy, max_workers, pips, precision)
    result = evaluate_oos(bars, best.params, cfg, train[0], test, strategy.name, pips, precision)
    fold = Fold(
        index,
        train,
        test,
        (int(ts[train[0]]), int(ts[train[1] - 1])),
        (int(ts[test[0]]), int(ts[test[1] - 1])),
        {key: best.params[key] for key in keys},
        best.score,
        compute_metrics(result, ppy),
    )
    return fold, result


__all__ = [
    "Fold",
    "RankedPoint",
    "Rerun",
    "SweepError",
    "SweepReport",
    "WalkForwardReport",
    "evaluate_oos",
    "fold_windows",
    "point_run_config",
    "rerun_point",
    "resolve_target",
    "run_fold",
    "select_on",
    "sma_feature_signal_fn",
    "sma_feature_spec",
    "sweep",
    "walkforward",
]
