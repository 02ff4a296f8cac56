"""
### backtest_sweep: a parameter sweep scaled out over Celery workers

Manual (no schedule). Scores every point of a grid on the vectorised engine, one task per
chunk of points, ranks them by a target, then re-runs the best points on Backtrader and
stores them as backtest runs (`tradewind backtest ls` and the reports show them).

**Tasks:** `prepare` (validate the params, load the config) -> `plan` (cut the grid into
chunks) ->
`score_chunk` (mapped, one per chunk, Celery queue **`backtest`**) -> `reduce` (the ranking
and the `top` best points) -> `rerun_best` (queue `backtest`; Backtrader, stored runs).
More `airflow celery worker -q backtest` processes, on more machines, score more chunks at
once; no code change.

**Params:**
- `config`: a backtest config file (absolute, or relative to the project), default
  `configs/backtests/demo.yaml`; its first strategy (the SMA crossover) is swept.
- `grid`: the CLI's syntax, `fast=5:20:5,slow=30:60:10` (stop included), or a mapping
  `{"fast": [5, 10], "slow": [30, 60]}`. Points with fast >= slow are skipped.
- `target`: `sharpe`, `total_return`, `calmar` or `module:function`; higher is better.
- `chunks`: how many scoring tasks (at most one per point); `top`: points to re-run.

**Re-runs** store nothing twice: a point whose run (same config, same data range, same code
version) already succeeded is reused (`reused: true` in `rerun_best`'s return value).

**Connections:** `tradewind_db` (the security master; else `TRADEWIND_DATABASE_URL`).
The result is in the XComs: `reduce` (ranking, best points), `rerun_best` (run ids).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, task

PROJECT = str(Path(__file__).resolve().parents[1])


@dag(
    dag_id="backtest_sweep",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    tags=["tradewind", "backtest", "sweep"],
    doc_md=__doc__,
    default_args={"owner": "tradewind", "retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "config": Param("configs/backtests/demo.yaml", type="string", minLength=1),
        "grid": Param("fast=5:20:5,slow=30:60:10", type=["string", "object"]),
        "target": Param("sharpe", type="string", minLength=1),
        "chunks": Param(4, type="integer", minimum=1, maximum=1000),
        "top": Param(3, type="integer", minimum=0, maximum=100),
    },
)
def backtest_sweep() -> None:
    @task
    def prepare(params: dict[str, Any] | None = None) -> dict[str, Any]:
        from tradewind.orchestration.sweep import prepare_sweep

        return prepare_sweep(dict(params or {}), PROJECT)

    @task
    def plan(setup: dict[str, Any]) -> list[Any]:
        from tradewind.orchestration.sweep import plan_chunks

        return plan_chunks(setup)

    @task(queue="backtest")
    def score_chunk(setup: dict[str, Any], chunk: list[dict[str, Any]]) -> list[Any]:
        from tradewind.orchestration import sweep

        return sweep.score_chunk(setup, chunk)

    @task
    def reduce(setup: dict[str, Any], scored: list[list[Any]]) -> dict[str, Any]:
        from tradewind.orchestration.sweep import reduce_sweep

        return reduce_sweep(setup, list(scored))

    @task(queue="backtest")
    def rerun_best(setup: dict[str, Any], reduced: dict[str, Any]) -> list[Any]:
        from tradewind.orchestration import sweep

        return sweep.rerun_best(setup, reduced)

    setup = prepare()
    scored = score_chunk.partial(setup=setup).expand(chunk=plan(setup))
    rerun_best(setup, reduce(setup, scored))


backtest_sweep()
