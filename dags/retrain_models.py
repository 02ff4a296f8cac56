"""
### retrain_models: weekly retraining with a champion/challenger gate

For each model config in the `models` param (one mapped task per config):

1. **train_challenger** (Celery queue `rl`): trains a new version of the model on the bars in
   the security master and registers it in MLflow, tagged with this run's key (the logical
   date). With **rolling splits** (the gate's `splits: {mode: rolling, train_days,
   validation_days, held_out_days}`, the default gate's choice: 175 / 56 / 56 days) the model
   config's split dates are replaced relative to the logical date T, aligned down to the
   model's timeframe: held out `[T - held_out_days, T)`, validation the `validation_days`
   before, train the `train_days` before that. So each week's challenger trains on the latest
   weeks, never on the held-out ones; the rolled config is what is logged and registered
   (its `data_range.json`, `config/model.yaml` and the tag `tradewind.retrain.splits` show
   the dates). With `splits: {mode: fixed}` (or none) it trains on the config's own dates.
   Refused, without training, when no long enough held-out window is left before the run's
   date (e.g. no bars there yet: run `market_data_ingest` first).
2. **judge_challenger**: backtests the challenger *by version* (`models:/NAME/VERSION`) on a
   held-out window that neither it nor the current champion trained or validated on (from the
   bar after the later of their validation ends up to the logical date; rolling: the rolled
   held-out window, starting later only when the champion saw part of it), backtests the
   champion on the same window, and applies the gate (`gate` param, a `kind: gate` config:
   metric and minimum margin over the champion, minimum trades, maximum drawdown, minimum
   window length). A pass moves the alias `champion` to the challenger; a fail aliases it
   `challenger`. With no champion yet, the first model passing the trade and drawdown checks
   becomes champion. The decision, the numbers and the reason go to the `model_promotions`
   table and to MLflow tags on both versions (`tradewind.promotion.decision`, `.reason`,
   `.metric`, `.window`, `.backtest_run_id`); both backtests are stored runs.
   On promotion the task emits an event on the asset `NAME@champion`
   (`model://NAME/champion`, through the alias `tradewind-model-champions`): `live_launch`
   can be scheduled on it.

Re-running a date returns the stored decisions: nothing is trained, stored or announced twice.

**Params**: `models` (model config paths, relative to the project directory), `gate` (the
gate config path). **Connections**: `tradewind_db` (the security master, where the decisions
and backtest runs are stored), `mlflow` (tracking server and model registry; without it the
embedded store under `TRADEWIND_HOME`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

# tradewind_assets lies beside this file: Airflow puts the DAGs folder on sys.path.
from tradewind_assets import CHAMPIONS, champion_asset

PROJECT = str(Path(__file__).resolve().parents[1])
DEFAULT_MODELS = ["configs/models/logreg_eurusd_h1.yaml", "configs/models/gbm_eurusd_h1.yaml"]
DEFAULT_GATE = "configs/gates/default.yaml"


def _run() -> tuple[str, datetime]:
    """This run's key (its logical date; a manual run without one: its run id) and the date
    the held-out window ends at."""
    ctx = get_current_context()
    run = ctx["dag_run"]
    logical = ctx.get("logical_date")
    if logical is not None:
        return logical.isoformat(), logical
    return run.run_id, run.run_after


@dag(
    dag_id="retrain_models",
    schedule="@weekly",
    # the earliest logical date a run may have (a re-evaluation of an older date is a manual
    # run with that date); catchup is off, so nothing is backfilled
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "tradewind", "retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["tradewind", "models", "mlflow"],
    params={
        "models": Param(
            DEFAULT_MODELS,
            type="array",
            items={"type": "string"},
            minItems=1,
            description="Model configs (kind: model) to retrain, one mapped task each",
        ),
        "gate": Param(DEFAULT_GATE, type="string", description="The gate config (kind: gate)"),
    },
    doc_md=__doc__,
)
def retrain_models() -> None:
    @task
    def model_configs() -> list[str]:
        return list(get_current_context()["params"]["models"])

    @task(queue="rl")
    def train_challenger(model_config: str) -> dict[str, Any]:
        from tradewind.orchestration.retrain import train_challenger_task

        run_key, as_of = _run()
        gate = get_current_context()["params"]["gate"]
        return train_challenger_task(
            model_config, gate, run_key=run_key, as_of=as_of, project_dir=PROJECT
        )

    @task(outlets=[CHAMPIONS])
    def judge_challenger(challenger: dict[str, Any]) -> dict[str, Any]:
        from tradewind.orchestration.retrain import judge_task

        run_key, as_of = _run()
        ctx = get_current_context()
        out = judge_task(
            challenger, ctx["params"]["gate"], run_key=run_key, as_of=as_of, project_dir=PROJECT
        )
        if out["decision"] == "promoted" and out["fresh"]:
            name, version = out["model_name"], out["challenger_version"]
            ctx["outlet_events"][CHAMPIONS].add(
                champion_asset(name),
                extra={
                    "model": name,
                    "version": version,
                    "model_uri": f"models:/{name}/{version}",
                    "run_key": run_key,
                    "previous_version": out["champion_version"],
                },
            )
        return out

    judge_challenger.expand(challenger=train_challenger.expand(model_config=model_configs()))


retrain_models()
