"""``tradewind live resync``'s wiring: take the account's lease (no trader may run while the
books are rewritten), adopt the broker's books into the OMS (``tradewind.oms.resync``), then
reconcile to show the books are clean. The kill switch is left as it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from tradewind.broker.ports import Broker
from tradewind.live.lease import DEFAULT_TTL_S
from tradewind.oms import OrderManager, ReconcileReport
from tradewind.oms.resync import ResyncRefused, ResyncReport, resync
from tradewind.pipelines.live import LiveStartError, take_lease
from tradewind.risk import KillState, KillSwitch
from tradewind.storage.live import last_deployed_config
from tradewind.storage.oms import SqlOmsStore
from tradewind.storage.risk import SqlKillSwitchStore


@dataclass(frozen=True)
class Resynced:
    resync: ResyncReport
    reconcile: ReconcileReport
    kill_state: KillState
    kill_reason: str


def stored_broker_spec(engine: Engine, account_id: str) -> dict[str, Any] | None:
    """The ``broker`` section of the config the account was last traded with."""
    config = last_deployed_config(engine, account_id)
    return dict(config.get("broker") or {}) if config is not None else None


def resync_account(
    engine: Engine, broker: Broker, by: str, reason: str, *, lease_ttl_s: float = DEFAULT_TTL_S
) -> Resynced:
    """Adopt the broker's books for ``broker``'s account. Raises ``LiveStartError`` while
    another process holds the account's lease, ``ResyncRefused`` without a person or reason."""
    account_id = broker.account_id
    if not by or not reason:
        raise ResyncRefused("a resync needs a person's name (--by) and a reason (--reason)")
    lease = take_lease(engine, account_id, lease_ttl_s)
    try:
        oms = OrderManager(broker, SqlOmsStore(engine), account_id)
        report = resync(oms, by, reason)
        lease.renew(force=True)  # still ours: nobody traded while the books were rewritten
        check = oms.reconcile()
    finally:
        lease.release()
    kill = KillSwitch(SqlKillSwitchStore(engine), account_id, None)
    return Resynced(report, check, kill.state, kill.record.reason)


__all__ = ["LiveStartError", "ResyncRefused", "Resynced", "resync_account"]
