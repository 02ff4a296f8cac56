"""The ``pnl_reconciliation`` DAG's tasks: which accounts to reconcile, and one account's FX
day (``tradewind.pipelines.pnl``) with adapters built from the Airflow connections.

Accounts: the ones the ``oanda`` connection names, extra ``account_ids`` (a list, all reached
with the connection's token), else its ``account_id``, else the first account the token sees.
Not "every account the OMS knows": an account is only reachable with its own token and
environment, which the connection holds, so an account the connection cannot reach would only
ever fail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tradewind.orchestration import connections


def accounts() -> list[str]:
    """The accounts to reconcile (see the module docstring)."""
    conn = connections.connection(connections.BROKER_CONN)
    if conn is None:
        raise connections.JobSetupError(
            f"no Airflow connection {connections.BROKER_CONN!r}: set AIRFLOW_CONN_OANDA to "
            "reconcile a broker account"
        )
    listed = conn.extra_dejson.get("account_ids") or []
    if not isinstance(listed, list) or not all(isinstance(a, str) and a for a in listed):
        raise connections.JobSetupError(
            f"connection {connections.BROKER_CONN!r}: extra account_ids must be a list of ids"
        )
    return list(listed) or [str(connections.broker().account_id)]


def reconcile(account_id: str, day_end: datetime, params: dict[str, Any]) -> dict[str, Any]:
    """Reconcile and store the FX day of ``account_id`` that ended at or before ``day_end``
    (the run's data interval end); the result's summary (a mismatch has tripped the
    account's kill switch; the DAG's task then fails without retrying)."""
    from tradewind.config.pnl import PnlCheckConfig
    from tradewind.domain.fxday import fx_day_ending_by
    from tradewind.pipelines.pnl import reconcile_pnl_day

    cfg = PnlCheckConfig(**{k: params[k] for k in PnlCheckConfig.model_fields if k in params})
    broker = connections.broker(account_id)
    try:
        result = reconcile_pnl_day(connections.engine(), broker, fx_day_ending_by(day_end), cfg)
    finally:
        broker.close()
    return result.summary()
