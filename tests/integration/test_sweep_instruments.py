"""Sweeps and walk-forward price and annualise on the instrument's own terms, on SQLite and
Postgres: an equity (pip 0.01, the XNYS calendar's 252 days) with a fixed spread costs the
vectorised engine what it costs the Backtrader re-run, and both report Sharpe on 252 days."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from equity_support import import_daily_equity
from sqlalchemy import Engine

from tradewind.config.backtest import BacktestConfig, Costs, Sizing, StrategySpec
from tradewind.domain import Timeframe
from tradewind.pipelines.backtest import instrument_terms, load_inputs
from tradewind.pipelines.sweep import evaluate_oos, sma_feature_spec, sweep, walkforward
from tradewind.pipelines.sweep_tasks import score_chunk
from tradewind.pipelines.walkforward_tasks import plan_folds, score_fold, stitch_folds

GRID = "fast=3:6:3,slow=12:24:12"


def _equity(engine: Engine, tmp_path: Path) -> BacktestConfig:
    assert import_daily_equity(engine, tmp_path, 300, datetime(2023, 1, 2), seed=7).inserted == 300
    return BacktestConfig(
        name="aapl-sweep",
        instruments=("AAPL_USD",),
        timeframe=Timeframe.D,
        strategies=(StrategySpec(name="sma_crossover", params={"allow_short": True}),),
        cash=100_000.0,
        sizing=Sizing(value=100),
        costs=Costs(spread="fixed", spread_pips=3.0),
    )


def test_equity_sweep_costs_and_annualises_as_its_backtrader_rerun(
    db_engine: Engine, tmp_path: Path
) -> None:
    cfg = _equity(db_engine, tmp_path)
    terms = instrument_terms(db_engine, cfg.instruments, cfg.timeframe)
    assert (terms.periods_per_year, terms.pip_locations) == (252.0, {"AAPL_USD": -2})
    report = sweep(db_engine, cfg, GRID, None, "sharpe", top=1, max_workers=1)
    (rerun,) = report.rerun
    best = report.points[0]
    assert rerun.params == best.params
    assert rerun.metrics["trades"] == best.metrics["trades"] > 0
    for k in ("total_return", "sharpe", "annual_volatility"):
        assert rerun.metrics[k] == pytest.approx(best.metrics[k], rel=1e-9, abs=1e-12), k

    # the vectorised fills pay 3 pips of 0.01 a share (half on each side), not 3 x 0.0001
    bars, _ = load_inputs(db_engine, cfg, sma_feature_spec(2, 3))
    params = {"allow_short": True, **best.params}
    result = evaluate_oos(bars, params, cfg, 0, (30, 300), "sma", terms.pip_locations)
    assert result.fills
    for fill in result.fills:
        assert fill.spread_cost == pytest.approx(abs(fill.units) * 0.03 / 2)

    # the task versions score the same way
    scored = score_chunk(db_engine, cfg, [best.params], "sharpe")
    assert scored[0]["metrics"]["sharpe"] == pytest.approx(best.metrics["sharpe"], rel=1e-12)


def test_equity_walkforward_costs_in_its_pips_and_annualises_on_252_days(
    db_engine: Engine, tmp_path: Path
) -> None:
    cfg = _equity(db_engine, tmp_path)
    report = walkforward(db_engine, cfg, GRID, "sharpe", 120, 60, max_workers=1)
    assert report.oos.fills
    for fill in report.oos.fills:
        assert fill.spread_cost == pytest.approx(abs(fill.units) * 0.03 / 2)
    eq = np.asarray(report.oos.equity)
    r = np.diff(eq) / eq[:-1]
    assert report.oos_metrics["annual_volatility"] == pytest.approx(
        np.std(r, ddof=1) * math.sqrt(252), rel=1e-9
    )
    folds = [
        score_fold(db_engine, cfg, GRID, "sharpe", f) for f in plan_folds(db_engine, cfg, 120, 60)
    ]
    assert folds == [f.to_json() for f in report.folds]
    tasks = stitch_folds(db_engine, cfg, GRID, "sharpe", "rolling", folds)
    assert tasks["oos_metrics"] == report.to_json()["oos_metrics"]


def test_sweeps_and_walkforward_round_orders_to_whole_shares_as_the_rerun(
    db_engine: Engine, tmp_path: Path
) -> None:
    """100.5 shares a position: the vectorised sweep and walk-forward trade whole shares
    (AAPL_USD's unit precision is 0), as the Backtrader re-run of the best point does."""
    cfg = _equity(db_engine, tmp_path).model_copy(update={"sizing": Sizing(value=100.5)})
    report = sweep(db_engine, cfg, GRID, None, "sharpe", top=1, max_workers=1)
    (rerun,) = report.rerun
    best = report.points[0]
    assert rerun.metrics["trades"] == best.metrics["trades"] > 0
    for k in ("total_return", "sharpe", "max_drawdown"):
        assert rerun.metrics[k] == pytest.approx(best.metrics[k], rel=1e-9, abs=1e-12), k
    wf = walkforward(db_engine, cfg, GRID, "sharpe", 120, 60, max_workers=1)
    assert wf.oos.fills
    assert all(float(f.units).is_integer() for f in wf.oos.fills)
