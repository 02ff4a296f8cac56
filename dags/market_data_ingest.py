"""# market_data_ingest

Every hour, brings the security master up to date:

- **candles** (one mapped task per instrument and timeframe, labelled e.g. `EUR_USD H1`):
  complete OANDA candles (mid, bid and ask) from the newest stored bar of the series to the
  run's data interval end; a series with no bar yet starts `history_bars` bars back. Re-running
  a run inserts nothing. The return value (XCom) holds the bars fetched and inserted and each
  batch with its quarantine counts by reason.
- **landing_bucket**: imports the CSV/Parquet files dropped into the landing bucket under
  `incoming/<INSTRUMENT>/<TIMEFRAME>/<name>.csv|parquet` (import options, if any, in a
  sidecar `<name>.csv.spec.yaml`: side, timezone, columns, vendor, ...), then moves each to
  `processed/<batch_id>/` or, when it cannot be imported, to `rejected/.../` with a
  `<name>.reason.txt`. Skipped when no `minio` connection is set.

A batch that quarantines more than `max_quarantine_ratio` of its rows fails its task with the
reasons (its good rows are stored; the bad ones are in `tradewind data quarantine --batch N`);
so does a rejected landing object when `fail_on_rejected` is set. Those failures are not
retried; a missing connection or an unreachable service is.

**Params**: `config` (default `configs/ingest/market_data.yaml`, relative to the project
root: instruments, timeframes, history_bars, max_quarantine_ratio, fail_on_rejected);
`instruments` and `timeframes` (lists; empty: the config's) narrow one run.

**Connections**: `tradewind_db` (the security master; default: `TRADEWIND_DATABASE_URL` or
the embedded SQLite), `oanda` (token as password; extra `environment` = practice, live with
`allow_live`, or venue with host = its URL), `minio` (optional: endpoint as host, access and
secret key as login/password, extra `bucket`, `region`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

ROOT = str(Path(__file__).resolve().parents[1])
CONFIG = "configs/ingest/market_data.yaml"


@dag(
    dag_id="market_data_ingest",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "tradewind", "retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["tradewind", "ingest", "market-data"],
    doc_md=__doc__,
    params={
        "config": Param(CONFIG, type="string", description="Ingest config (market_ingest)."),
        "instruments": Param(
            [], type="array", items={"type": "string"}, description="Only these instruments."
        ),
        "timeframes": Param(
            [], type="array", items={"type": "string"}, description="Only these timeframes."
        ),
    },
)
def market_data_ingest() -> None:
    @task
    def plan() -> list[dict[str, str]]:
        from tradewind.orchestration.ingest import work_items

        p = get_current_context()["params"]
        return work_items(p["config"], ROOT, p["instruments"], p["timeframes"])

    @task(map_index_template="{{ label }}", max_active_tis_per_dagrun=4)
    def candles(item: dict[str, str]) -> Any:
        from tradewind.orchestration.ingest import ingest_candles

        ctx: Any = get_current_context()
        ctx["label"] = f"{item['instrument']} {item['timeframe']}"
        end = ctx.get("data_interval_end") or ctx.get("logical_date") or ctx["dag_run"].run_after
        return ingest_candles(item, end, ctx["params"]["config"], ROOT)

    @task
    def landing_bucket() -> Any:
        from tradewind.orchestration.ingest import ingest_landing

        return ingest_landing(get_current_context()["params"]["config"], ROOT)

    candles.expand(item=plan())
    landing_bucket()


market_data_ingest()
