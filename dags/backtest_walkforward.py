"""
### backtest_walkforward: walk-forward analysis, one task per fold

Manual (no schedule). Splits the stored bars into consecutive folds; each fold picks the
best grid point on its train window alone and trades it on the following test window alone
(out-of-sample). The folds run as mapped tasks on the Celery queue **`backtest`**, then the
test-window curves are chained into one out-of-sample result. The same analysis as
`tradewind backtest walkforward`.

**Tasks:** `prepare` (validate the params, load the config) -> `plan` (the folds' bar
ranges) -> `score_fold` (mapped, one per fold, queue `backtest`) -> `stitch` (the report:
each fold's chosen point, train score and out-of-sample metrics, and the stitched metrics).

**Params:**
- `config`: a backtest config file (absolute, or relative to the project), default
  `configs/backtests/demo.yaml`; its first strategy (the SMA crossover) is analysed.
- `grid`: the CLI's syntax `fast=5:20:5,slow=30:60:10`, or a mapping of name -> values.
- `target`: `sharpe`, `total_return`, `calmar` or `module:function`; higher is better.
- `train_bars`, `test_bars`: window lengths in bars; `mode`: `rolling` (fixed-length train
  window) or `expanding` (train from the first bar).

It stores nothing (the report is `stitch`'s XCom), so re-runs duplicate nothing.
**Connections:** `tradewind_db` (the security master; else `TRADEWIND_DATABASE_URL`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, task

PROJECT = str(Path(__file__).resolve().parents[1])


@dag(
    dag_id="backtest_walkforward",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    tags=["tradewind", "backtest", "walkforward"],
    doc_md=__doc__,
    default_args={"owner": "tradewind", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "config": Param("configs/backtests/demo.yaml", type="string", minLength=1),
        "grid": Param("fast=5:20:5,slow=30:60:10", type=["string", "object"]),
        "target": Param("sharpe", type="string", minLength=1),
        "train_bars": Param(1000, type="integer", minimum=2),
        "test_bars": Param(500, type="integer", minimum=2),
        "mode": Param("rolling", type="string", enum=["rolling", "expanding"]),
    },
)
def backtest_walkforward() -> None:
    @task
    def prepare(params: dict[str, Any] | None = None) -> dict[str, Any]:
        from tradewind.orchestration.sweep import prepare_walkforward

        return prepare_walkforward(dict(params or {}), PROJECT)

    @task
    def plan(setup: dict[str, Any]) -> list[Any]:
        from tradewind.orchestration.sweep import plan_folds

        return plan_folds(setup)

    @task(queue="backtest")
    def score_fold(setup: dict[str, Any], fold: dict[str, Any]) -> dict[str, Any]:
        from tradewind.orchestration import sweep

        return sweep.score_fold(setup, fold)

    @task
    def stitch(setup: dict[str, Any], folds: list[dict[str, Any]]) -> dict[str, Any]:
        from tradewind.orchestration.sweep import stitch_folds

        return stitch_folds(setup, list(folds))

    setup = prepare()
    stitch(setup, score_fold.partial(setup=setup).expand(fold=plan(setup)))


backtest_walkforward()
