"""Walk-forward analysis cut into task-sized JSON steps: ``plan_folds`` (the folds' bar
ranges) -> ``score_fold`` per fold (best point on the train window, traded on the test
window) -> ``stitch_folds`` (the report, equal to the in-process ``walkforward``'s)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine

from tradewind.backtest.metrics import compute_metrics
from tradewind.config.backtest import BacktestConfig
from tradewind.pipelines.backtest import instrument_terms
from tradewind.pipelines.sweep import (
    SweepError,
    _point_params,
    _strategy,
    cleand,
    evaluate_oos,
    fold_windows,
    resolve_target,
    run_fold,
    stitch,
)
from tradewind.pipelines.sweep_tasks import JSON, backtest_config, grid_plan, load_bars_of, ordered


def plan_folds(
    engine: Engine,
    config: Mapping[str, Any] | BacktestConfig,
    train_bars: int,
    test_bars: int,
    mode: str = "rolling",
) -> list[JSON]:
    """``[{"fold", "train", "test"}, ...]``: the folds' bar index ranges on the stored bars."""
    cfg = backtest_config(config)
    _strategy(cfg)
    n = len(next(iter(load_bars_of(engine, cfg).values())))
    windows = fold_windows(n, train_bars, test_bars, mode)  # type: ignore[arg-type]
    return [{"fold": k, "train": list(tr), "test": list(te)} for k, (tr, te) in enumerate(windows)]


def score_fold(
    engine: Engine,
    config: Mapping[str, Any] | BacktestConfig,
    grid: str | Mapping[str, Any],
    target: str,
    fold: Mapping[str, Any],
    workers: int = 1,
) -> JSON:
    """One fold: its best point on the train window alone and that point's out-of-sample
    metrics on the test window (``Fold.to_json``)."""
    cfg = backtest_config(config)
    strategy = _strategy(cfg)
    _, scorer = resolve_target(target)
    pts, _ = grid_plan(grid)
    full = [_point_params(strategy, p) for p in pts]
    train, test = fold["train"], fold["test"]
    done, _ = run_fold(
        load_bars_of(engine, cfg),
        cfg,
        full,
        list(pts[0]),
        scorer,
        int(fold["fold"]),
        (int(train[0]), int(train[1])),
        (int(test[0]), int(test[1])),
        instrument_terms(engine, cfg.instruments, cfg.timeframe),
        workers,
    )
    return done.to_json()


def stitch_folds(
    engine: Engine,
    config: Mapping[str, Any] | BacktestConfig,
    grid: str | Mapping[str, Any],
    target: str,
    mode: str,
    folds: Sequence[Mapping[str, Any]],
) -> JSON:
    """The walk-forward report (``WalkForwardReport.to_json``): each fold's chosen point is
    traded again on its test window (cheap: one point) and the curves are chained."""
    cfg = backtest_config(config)
    strategy = _strategy(cfg)
    label, _ = resolve_target(target)
    pts, skipped = grid_plan(grid)
    bars = load_bars_of(engine, cfg)
    ordered_folds = sorted(folds, key=lambda f: int(f["fold"]))
    if not ordered_folds:
        raise SweepError("nothing to stitch: no folds")
    terms = instrument_terms(engine, cfg.instruments, cfg.timeframe)
    results = []
    for f in ordered_folds:
        params = _point_params(strategy, f["params"])
        test = (int(f["test"][0]), int(f["test"][1]))
        warm = int(f["train"][0])
        results.append(
            evaluate_oos(
                bars,
                params,
                cfg,
                warm,
                test,
                strategy.name,
                terms.pip_locations,
                terms.units_precision,
            )
        )
    stitched = stitch(results, cfg.cash, strategy.name)
    metrics = compute_metrics(stitched, terms.periods_per_year)
    keys = list(pts[0])
    return {
        "target": label,
        "mode": mode,
        "skipped": skipped,
        "folds": [{**f, "params": ordered(f["params"], keys)} for f in ordered_folds],
        "oos_metrics": cleand(metrics),
    }


__all__ = ["plan_folds", "score_fold", "stitch_folds"]
