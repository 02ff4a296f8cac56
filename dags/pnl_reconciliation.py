"""
### pnl_reconciliation

Every FX day's end (17:00 New York, daylight saving included), reconcile each broker account
with the OMS and write the day's P&L.

For the FX day that ended at the run's data interval end (17:00 New York the day before to
17:00 New York that day), one mapped task per account:

- pulls the broker's transactions of the day and compares them with the OMS: every broker
  fill must be in `oms_fills` once with the same units, price and P&L, no OMS fill may be
  unknown to the broker, and positions at the day's end must agree (both sides' fills after
  the end are replayed back, so a late run compares the same instant);
- writes `pnl_daily`: one row per account, deployment ('' = unattributed) and instrument with
  realised and unrealised P&L, financing, commission, units and the account NAV at the day's
  end, and an account row (instrument `*`) with the sums; `pnl_checks`: clean or mismatch
  with the differences;
- on a difference beyond the tolerances, **halts the account's kill switch** (latched: a
  person resumes it with `tradewind live resume`) with a reason naming the difference, and
  fails the account's task without retrying (the rows, the check row and the switch are
  written first), so the run shows red in the grid.

Re-running a day replaces its rows (never duplicates them).

**Params**: `units_tolerance` (units), `money_tolerance` (account currency), `prompt_s`
(how late a run may still mark with the broker's own unrealised P&L and NAV),
`snapshot_max_age_s` (else the live trader's last `live_pnl` snapshot before the end, at
most this old; else the marks are left empty).

**Connections**: `tradewind_db` (the database), `oanda` (token as the password; extra
`environment`, `account_id`, or `account_ids` to reconcile several accounts of the token).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.trigger import CronTriggerTimetable


@dag(
    dag_id="pnl_reconciliation",
    schedule=CronTriggerTimetable("0 17 * * *", timezone="America/New_York"),
    catchup=False,
    max_active_runs=1,
    tags=["tradewind", "pnl", "risk"],
    doc_md=__doc__,
    default_args={"owner": "tradewind", "retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "units_tolerance": Param(0.0, type="number", minimum=0),
        "money_tolerance": Param(0.01, type="number", minimum=0),
        "prompt_s": Param(300.0, type="number", minimum=0),
        "snapshot_max_age_s": Param(3600.0, type="number", minimum=0),
    },
)
def pnl_reconciliation() -> None:
    @task
    def accounts() -> list[str]:
        from tradewind.orchestration import pnl

        return pnl.accounts()

    @task(map_index_template="{{ account }}")
    def reconcile(account_id: str) -> dict[str, Any]:
        from tradewind.orchestration import pnl

        ctx = get_current_context()
        ctx["account"] = account_id  # type: ignore[typeddict-unknown-key]  # the map index's name
        day_end = (
            ctx.get("data_interval_end") or ctx.get("logical_date") or ctx["dag_run"].run_after
        )
        result = pnl.reconcile(account_id, day_end, dict(ctx["params"]))
        if result["status"] != "clean":
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(
                f"{account_id} {result['day']}: {result['reason']} (kill switch halted)"
            )
        return result

    reconcile.expand(account_id=accounts())


pnl_reconciliation()
