"""The scale-out sweep's task steps on SQLite and Postgres: plan -> score_chunk per chunk ->
reduce gives the in-process sweep's ranking and best points exactly; rerun_best stores the
same runs as the in-process re-run and reuses them when run again; walk-forward folds as
separate tasks stitch to the in-process walk-forward's report. Every value crosses a JSON
round trip between steps, as it does through Airflow's XCom."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from tradewind.config import SyntheticConfig
from tradewind.config.backtest import BacktestConfig, Costs, Sizing, StrategySpec
from tradewind.domain import Timeframe
from tradewind.pipelines.setup import initialise
from tradewind.pipelines.sweep import SweepError, sweep, walkforward
from tradewind.pipelines.sweep_tasks import (
    grid_plan,
    ordered,
    plan,
    reduce,
    rerun_best,
    score_chunk,
    split,
    sweep_grid,
)
from tradewind.pipelines.synthetic import synthesize_to_db
from tradewind.pipelines.walkforward_tasks import plan_folds, score_fold, stitch_folds
from tradewind.storage.schema import RunRow

GRID = "fast=5:25:5,slow=10:40:10,allow_short=0:1:1"  # 40 points, 12 with fast >= slow


def wire(value: Any) -> Any:
    """What a task's return value looks like to the next task (XCom is JSON)."""
    return json.loads(json.dumps(value))


def _cfg() -> BacktestConfig:
    return BacktestConfig(
        name="sweep-tasks",
        instruments=("EUR_USD",),
        timeframe=Timeframe.H1,
        strategies=(StrategySpec(name="sma_crossover", params={"allow_short": True}),),
        sizing=Sizing(value=10_000),
        costs=Costs(commission_bps=0.2, spread="fixed", spread_pips=0.8, slippage_bps=0.1),
    )


@pytest.fixture
def seeded(db_engine: Engine) -> Engine:
    initialise(db_engine)
    synthesize_to_db(db_engine, SyntheticConfig(instrument="EUR_USD", bars=2000, seed=4))
    return db_engine


def _runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(RunRow)).scalar_one())


def test_map_reduce_equals_the_in_process_sweep_and_reruns_once(seeded: Engine) -> None:
    cfg = _cfg()
    body = wire(cfg.model_dump(mode="json"))
    chunks = wire(plan(body, GRID, 4))
    assert [len(c) for c in chunks] == [7, 7, 7, 7]
    assert [p for c in chunks for p in c] == grid_plan(GRID)[0]
    scored = [wire(score_chunk(seeded, body, c, "sharpe")) for c in chunks]
    _, skipped = grid_plan(GRID)
    reduced = wire(reduce(scored, 2, "sharpe", skipped))

    before = _runs(seeded)
    reruns = wire(rerun_best(seeded, body, reduced["best"], keys=["fast", "slow", "allow_short"]))
    assert [r["reused"] for r in reruns] == [False, False]
    assert _runs(seeded) == before + 2
    again = rerun_best(seeded, body, reduced["best"], keys=["fast", "slow", "allow_short"])
    assert [r["run_id"] for r in again] == [r["run_id"] for r in reruns]
    assert all(r["reused"] for r in again)
    assert again[0]["metrics"] == reruns[0]["metrics"]
    assert _runs(seeded) == before + 2  # nothing duplicated

    local = sweep(seeded, cfg, GRID, None, "sharpe", top=2, max_workers=1).to_json()
    assert reduced["points"] == local["points"]
    assert reduced["skipped"] == local["skipped"] == 12
    assert reduced["target"] == "sharpe"
    assert reduced["best"] == [p["params"] for p in local["points"][:2]]
    with seeded.connect() as conn:
        fps = dict(conn.execute(select(RunRow.id, RunRow.config_fingerprint)).all())
    for mine, theirs in zip(reruns, local["rerun"], strict=True):
        assert mine["params"] == theirs["params"]
        assert mine["metrics"] == theirs["metrics"]
        assert fps[mine["run_id"]] == fps[theirs["run_id"]]  # the same run config, stored


def test_grid_forms_chunking_and_errors() -> None:
    as_dict = sweep_grid({"fast": [5, 10], "slow": 30})
    assert as_dict == {"fast": [5, 10], "slow": [30]}
    assert grid_plan({"fast": [5, 10], "slow": [30]}) == grid_plan("fast=5:10:5,slow=30")
    pts = grid_plan("fast=1:10:1,slow=20")[0]
    assert [len(c) for c in split(pts, 3)] == [4, 3, 3]
    assert [len(c) for c in split(pts, 50)] == [1] * 10
    assert ordered({"slow": 2, "x": 1, "fast": 1}, ["fast", "slow"]) == {
        "fast": 1,
        "slow": 2,
        "x": 1,
    }
    assert list(ordered({"slow": 2, "fast": 1}, ["fast", "slow"])) == ["fast", "slow"]
    body = _cfg().model_dump(mode="json")
    with pytest.raises(SweepError, match="chunks must be at least 1"):
        plan(body, GRID, 0)
    with pytest.raises(SweepError, match="fast=5:x"):
        plan(body, "fast=5:x:5,slow=10", 2)
    with pytest.raises(SweepError, match="grid part slow: want numbers"):
        sweep_grid({"fast": [5], "slow": ["a"]})
    with pytest.raises(SweepError, match="needs slow"):
        plan(body, {"fast": [5]}, 2)
    with pytest.raises(SweepError, match="every point has fast >= slow"):
        plan(body, "fast=50,slow=10", 2)
    rsi = {**body, "strategies": [{"name": "rsi_meanrev", "params": {}}]}
    with pytest.raises(SweepError, match="sweeps support the sma_crossover"):
        plan(rsi, GRID, 2)


def test_walkforward_folds_as_tasks_equal_the_in_process_walkforward(seeded: Engine) -> None:
    cfg = _cfg()
    body = wire(cfg.model_dump(mode="json"))
    grid = "fast=5:25:10,slow=20:40:20"
    folds = wire(plan_folds(seeded, body, 800, 500, "expanding"))
    assert [f["test"] for f in folds] == [[800, 1300], [1300, 1800], [1800, 2000]]
    done = [wire(score_fold(seeded, body, grid, "sharpe", f)) for f in reversed(folds)]
    report = wire(stitch_folds(seeded, body, grid, "sharpe", "expanding", done))
    local = walkforward(seeded, cfg, grid, "sharpe", 800, 500, "expanding", max_workers=1)
    assert report == wire(local.to_json())
