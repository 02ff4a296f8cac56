"""# live_launch

Launches a registered model version on a live deployment, or rolls one back (the same
launch with an older version). Airflow never runs the trader: this DAG changes which version
the deployment *should* run (`live_models.desired_model`), and the running live trader
loads it, checks its contract, swaps it in at the deployment's next bar boundary and reports
it (`live_model`).

- **targets**: what this run launches: the params (a manual run), or, when a model is
  promoted to `champion` (the `retrain_models` DAG's asset event), that version on every
  deployment of `config` whose strategy follows `models:/NAME@champion`.
- **preflight** (one per target): trading is not halted on the account (kill switch), the
  account's last reconciliation was clean, the broker answers, the model version exists and
  its contract matches the deployment's features and timeframe. An alias is resolved to
  its version here. Any failure fails the run with every reason, before anything is set;
  it is not retried.
- **set_desired**: the version becomes the deployment's desired model (a re-run with the
  same version writes nothing).
- **live** (a sensor, rescheduled every `TRADEWIND_LAUNCH_POKE_S` seconds, 30 by default):
  waits until the trader reports the version live. It fails at once when the trader refused
  the version (its reason is in the log and in `live_models.detail`) or another launch
  superseded it, and after two bars plus ten minutes without the version going live.

**Params**: `deployment` (a deployment name of the live config), `model` (`NAME@champion`,
`NAME/3` or `models:/NAME/3`), `config` (the `kind: live` config the trader runs, relative to
the project root; default `TRADEWIND_LIVE_CONFIG` or `configs/live/paper_demo.yaml`). Leave
`deployment` and `model` empty for the champion-triggered runs.

**Connections**: `tradewind_db` (the trader's database), `oanda` (the broker, for the
reachability check), `mlflow` (the model registry; default `MLFLOW_TRACKING_URI` or the
embedded store).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param, PokeReturnValue, dag, get_current_context, task

from tradewind_assets import CHAMPIONS

ROOT = str(Path(__file__).resolve().parents[1])
CONFIG = os.environ.get("TRADEWIND_LIVE_CONFIG", "configs/live/paper_demo.yaml")
POKE_S = float(os.environ.get("TRADEWIND_LAUNCH_POKE_S", "30"))


@dag(
    dag_id="live_launch",
    schedule=[CHAMPIONS],
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "tradewind", "retries": 1, "retry_delay": timedelta(minutes=1)},
    tags=["tradewind", "live", "models"],
    doc_md=__doc__,
    params={
        "deployment": Param("", type="string", description="Deployment to launch on."),
        "model": Param("", type="string", description="NAME@ALIAS, NAME/VERSION or models:/…"),
        "config": Param(CONFIG, type="string", description="The trader's kind: live config."),
    },
)
def live_launch() -> None:
    @task
    def targets() -> list[dict[str, str]]:
        from tradewind.orchestration.launch import targets as plan

        ctx: Any = get_current_context()
        p = ctx["params"]
        events = ctx.get("triggering_asset_events") or {}
        champions = [dict(e.extra or {}) for key in events for e in events[key]]
        return plan(p["deployment"], p["model"], p["config"], ROOT, champions)

    @task(retries=0, map_index_template="{{ label }}")
    def preflight(target: dict[str, str]) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from tradewind.orchestration.launch import preflight as check
        from tradewind.pipelines.launch import LaunchRefused

        ctx: Any = get_current_context()
        ctx["label"] = f"{target['deployment']} {target['model']}"
        try:
            return check(target, ROOT)
        except LaunchRefused as exc:
            raise AirflowFailException(str(exc)) from None

    @task(map_index_template="{{ label }}")
    def set_desired(plan: dict[str, Any]) -> dict[str, Any]:
        from tradewind.orchestration.launch import set_desired as desire

        ctx: Any = get_current_context()
        ctx["label"] = f"{plan['deployment']} {plan['model']}"
        return desire(plan, by=f"airflow:{ctx['dag'].dag_id}", reason=ctx["run_id"])

    @task.sensor(
        poke_interval=POKE_S,
        timeout=timedelta(days=2).total_seconds(),
        mode="reschedule",
        retries=0,
        map_index_template="{{ label }}",
    )
    def live(launch: dict[str, Any]) -> PokeReturnValue:
        from airflow.sdk.exceptions import AirflowFailException

        from tradewind.orchestration.launch import live as check
        from tradewind.pipelines.launch import LaunchFailed

        ctx: Any = get_current_context()
        ctx["label"] = f"{launch['deployment']} {launch['model']}"
        try:
            done, row = check(launch)
        except LaunchFailed as exc:
            raise AirflowFailException(str(exc)) from None
        return PokeReturnValue(is_done=done, xcom_value=row)

    live.expand(launch=set_desired.expand(plan=preflight.expand(target=targets())))


live_launch()
