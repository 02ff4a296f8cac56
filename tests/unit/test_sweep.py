"""Grid parsing, random points and a parallel sweep of the vectorised engine."""

from __future__ import annotations

import numpy as np
import pytest

from tradewind.backtest.sweep import (
    grid_points,
    parse_grid,
    random_points,
    run_sweep,
    sma_crossover_signal_fn,
)
from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig, Sizing, StrategySpec
from tradewind.domain import Timeframe
from tradewind.domain.series import BarSeries
from tradewind.marketdata.synthetic import generate_bars


def test_parse_grid_is_inclusive_and_keeps_ints() -> None:
    g = parse_grid("fast=5:50:5, slow=20:200:10, k=0.5:1.5:0.5, short=1")
    assert g["fast"] == [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
    assert g["slow"][0] == 20
    assert g["slow"][-1] == 200
    assert len(g["slow"]) == 19
    assert g["k"] == [0.5, 1.0, 1.5]
    assert g["short"] == [1]
    assert len(grid_points(g)) == 10 * 19 * 3
    with pytest.raises(ValueError, match="start:stop:step"):
        parse_grid("fast=5:50")


def test_random_points_are_distinct_grid_points() -> None:
    g = parse_grid("a=1:10:1,b=1:10:1")
    pts = random_points(g, 20, seed=1)
    assert len({(p["a"], p["b"]) for p in pts}) == 20
    assert pts == random_points(g, 20, seed=1)


def test_parallel_sweep_matches_serial_and_ranks_by_target() -> None:
    df = generate_bars(SyntheticConfig(timeframe=Timeframe.H1, bars=2000, seed=5))
    col = lambda c: df[c].to_numpy(dtype=np.float64)  # noqa: E731
    bars = {
        "EUR_USD": BarSeries(
            df["ts"].astype("int64").to_numpy(),
            col("open"),
            col("high"),
            col("low"),
            col("close"),
            col("volume"),
        )
    }
    cfg = BacktestConfig(
        name="s",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="sma_crossover"),),
        sizing=Sizing(value=10_000.0),
    )
    pts = [p for p in grid_points(parse_grid("fast=5:20:5,slow=30:60:10")) if p["fast"] < p["slow"]]
    ppy = 252 * 24
    serial = run_sweep(bars, sma_crossover_signal_fn, pts, cfg, "sharpe", ppy, max_workers=1)
    parallel = run_sweep(bars, sma_crossover_signal_fn, pts, cfg, "sharpe", ppy, max_workers=2)
    assert [(r.params, r.score) for r in serial] == [(r.params, r.score) for r in parallel]
    scores = [r.score for r in serial]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(ValueError, match="unknown target"):
        run_sweep(bars, sma_crossover_signal_fn, pts, cfg, "nope", ppy)  # type: ignore[arg-type]


def _sweep_config(bars: dict[str, BarSeries]) -> BacktestConfig:
    return BacktestConfig(
        name="s",
        instruments=tuple(bars),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="sma_crossover"),),
        sizing=Sizing(value=10_000.0),
    )


def _two_instruments() -> dict[str, BarSeries]:
    out = {}
    for symbol, seed in (("EUR_USD", 5), ("GBP_USD", 6)):
        df = generate_bars(SyntheticConfig(timeframe=Timeframe.H1, bars=1500, seed=seed))
        ts = df["ts"].astype("int64").to_numpy()
        o, h, lo, c, v = (
            df[k].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "close", "volume")
        )
        out[symbol] = BarSeries(ts, o, h, lo, c, v)
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_sweep_computes_each_feature_once_and_scores_as_points_alone(workers: int) -> None:
    from tradewind.backtest.feature_cache import FeatureCache
    from tradewind.backtest.metrics import compute_metrics
    from tradewind.backtest.sweep import score
    from tradewind.backtest.vector import run_vector
    from tradewind.pipelines.sweep import SMA_FEATURES, sma_feature_signal_fn

    bars = _two_instruments()
    cfg = _sweep_config(bars)
    grid = parse_grid("fast=4:12:4,slow=20:40:10,allow_short=0:1:1")
    pts = grid_points(grid)  # 3 x 3 x 2 = 18 points over 6 distinct periods
    ppy = 252 * 24
    for model in (sma_crossover_signal_fn, SMA_FEATURES):
        cache = FeatureCache(bars, model.compute)
        swept = score(bars, model, pts, cfg, ppy, max_workers=workers, cache=cache)
        # every distinct period once per instrument, whatever the number of points/workers
        assert cache.stats.computed == len(bars) * len({*grid["fast"], *grid["slow"]}) == 12
        if workers == 1:  # each point read its two lines per instrument from the cache
            assert cache.stats.hits == len(pts) * 2 * len(bars)
        for p, m in zip(pts, swept, strict=True):
            alone = model if model is sma_crossover_signal_fn else sma_feature_signal_fn
            r = run_vector(bars, alone(bars, p), cfg, "sweep", p)
            want = compute_metrics(r, ppy)
            assert m.keys() == want.keys()
            assert all(m[k] == want[k] or (m[k] != m[k] and want[k] != want[k]) for k in m), p


def test_feature_cache_stays_under_its_budget_with_the_same_scores() -> None:
    """A budget of three lines: the least recently read are dropped and computed again when
    read again; every point scores as with an unbounded cache."""
    from tradewind.backtest.feature_cache import FeatureCache
    from tradewind.backtest.sweep import score
    from tradewind.pipelines.sweep import SMA_FEATURES

    bars = _two_instruments()
    cfg = _sweep_config(bars)
    pts = grid_points(parse_grid("fast=4:12:4,slow=20:40:10"))
    line = 8 * len(next(iter(bars.values())))
    small = FeatureCache(bars, SMA_FEATURES.compute, max_bytes=3 * line)
    full = FeatureCache(bars, SMA_FEATURES.compute, max_bytes=None)
    got = score(bars, SMA_FEATURES, pts, cfg, 252 * 24, max_workers=1, cache=small)
    want = score(bars, SMA_FEATURES, pts, cfg, 252 * 24, max_workers=1, cache=full)
    for a, b in zip(got, want, strict=True):
        assert all(a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]) for k in a)
    assert len(small) <= 3
    assert small.nbytes <= 3 * line
    assert small.stats.evicted > 0
    assert small.stats.computed > full.stats.computed == 12
    with pytest.raises(ValueError, match="max_bytes"):
        FeatureCache(bars, SMA_FEATURES.compute, max_bytes=0)
