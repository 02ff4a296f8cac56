"""The daily P&L reconciliation of one account for one FX day (17:00 to 17:00 New York).

1. The broker's side: its transactions of the day (``Broker.transactions_between``), its
   positions now less its fills after the day's end = its positions at the day's end. The
   positions are read between two account summaries with the same last transaction id, so
   "now" is one consistent instant; fills after the end are counted up to that id.
2. The OMS's side: its fills of the day (``oms_fills``) and its positions now less its fills
   after the day's end. Replaying the fills after the end backwards on both sides is exact
   whenever the job runs (the same day or weeks later), so no "now" positions are compared.
3. Every broker ORDER_FILL of the day must be in ``oms_fills`` (its primary key makes it
   once) with the same instrument, units, price, P&L, financing and commission; no OMS fill
   of the day may be unknown to the broker; positions at the end must agree. A difference
   beyond ``PnlCheckConfig``'s tolerances is a mismatch: the account's kill switch is tripped
   to HALTED (trigger ``pnl_reconciliation``, a ``risk_events`` row) with a reason naming it.
   The day's daily financing (the DAILY_FINANCING of its closing rollover, see
   ``pnl_financing``) must be in ``oms_financing`` with the same amount per instrument.
4. ``pnl_daily`` rows per deployment and instrument: realised P&L, financing and commission
   are the sums of the broker's fills of the day (the deployment is the OMS's for that fill
   or its order, '' when the OMS does not know it), financing plus the day's daily financing
   (shared among the instrument's holders at the day's end by units); units at the end per
   deployment are its own fills' sum, the rest of the account's position is deployment ''.
   Unrealised P&L and NAV at the day's end (see ``_marks``): the broker's own (positions'
   unrealizedPL, account NAV) when nothing happened since the end and the broker's prices
   are at most ``prompt_s`` past it (the DAG runs at 17:00, so this is the normal case; with no open
   position it is exact whenever the job runs); else the live trader's last ``live_pnl``
   snapshot at or before the end (at most ``snapshot_max_age_s`` old); else None (unknown).
   An instrument's unrealised P&L is shared among its deployments in proportion to units.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from tradewind.broker.ports import Broker
from tradewind.config.pnl import PnlCheckConfig
from tradewind.domain.broker import AccountSnapshot, OrderFilled, PositionSnapshot
from tradewind.domain.fxday import FxDay
from tradewind.pipelines import pnl_book, pnl_financing
from tradewind.risk.killswitch import KillState, KillSwitch
from tradewind.storage import pnl as store
from tradewind.storage.risk import SqlKillSwitchStore

TRIGGER = "pnl_reconciliation"
Json = dict[str, Any]


@dataclass(frozen=True)
class PnlDayResult:
    day: str
    account_id: str
    status: str  # clean | mismatch
    rows: list[Json]
    detail: Json
    reason: str = ""
    tripped: bool = False  # this run raised the kill switch

    def summary(self) -> Json:
        """What the task returns (its XCom): small and JSON."""
        return {
            "day": self.day,
            "account_id": self.account_id,
            "status": self.status,
            "rows": len(self.rows),
            "marks": self.detail.get("marks"),
            "reason": self.reason,
            "tripped": self.tripped,
        }


@dataclass(frozen=True)
class _Snapshot:
    account: AccountSnapshot
    positions: dict[str, PositionSnapshot] = field(default_factory=dict)


def broker_snapshot(broker: Broker, attempts: int = 5) -> _Snapshot:
    """The account and its open positions at one instant: read until the account's last
    transaction id is the same before and after the positions."""
    for _ in range(attempts):
        before = broker.account_summary()
        held = {p.instrument: p for p in broker.list_positions(open_only=True) if p.units}
        after = broker.account_summary()
        if before.last_transaction_id == after.last_transaction_id:
            return _Snapshot(after, held)
    raise RuntimeError(f"account {broker.account_id}: transactions kept coming while read")


def reconcile_pnl_day(
    engine: Engine,
    broker: Broker,
    day: FxDay,
    cfg: PnlCheckConfig | None = None,
    *,
    now_us: int | None = None,
) -> PnlDayResult:
    """Reconcile and store ``day`` of the broker's account (idempotent: a re-run replaces the
    day's rows and check). Refuses a day that has not ended by the wall clock."""
    cfg = cfg or PnlCheckConfig()
    now_us = now_us if now_us is not None else time.time_ns() // 1000
    if day.end_us > now_us:
        raise ValueError(f"FX day {day.label} ends at {day.end.isoformat()}: not over yet")
    account = broker.account_id
    snap = broker_snapshot(broker)
    fills = _fills(broker.transactions_between(day.start_us, day.end_us))
    later = [
        t
        for t in broker.transactions_between(day.end_us)
        if t.transaction_id <= snap.account.last_transaction_id
    ]
    broker_units = pnl_book.units_at_end(snap.positions, _fills(later))
    ours = store.oms_fills(
        engine, account, day.start_us, day.end_us, (f.transaction_id for f in fills)
    )
    oms_units = {
        i: u
        for i, u in store.oms_units_at(engine, account, day.end_us).items()
        if abs(u) > pnl_book.FLAT
    }
    detail = pnl_book.compare(fills, ours, broker_units, oms_units, cfg)
    charges = pnl_financing.day_financing(later, day)
    recorded = store.oms_financing(engine, account, (c.transaction_id for c in charges))
    detail["financing"] = pnl_financing.compare(charges, recorded, cfg.money_tolerance)
    unrealised, nav, marks = _marks(engine, broker, day, snap, bool(later), cfg)
    detail["marks"] = marks
    rows = pnl_book.daily_rows(
        fills,
        _deployments(engine, account, fills, ours),
        store.deployment_units(engine, account, day.end_us),
        broker_units,
        unrealised,
        nav,
        charges,
    )
    status = "mismatch" if pnl_book.mismatched(detail) else "clean"
    why = pnl_book.reason(day.label, detail) if status == "mismatch" else ""
    detail["tolerances"] = {"units": cfg.units_tolerance, "money": cfg.money_tolerance}
    check = {"status": status, "tolerance": cfg.money_tolerance, "detail": detail}
    store.write_day(engine, day.label, account, rows, check)
    tripped = False
    if status == "mismatch":
        kill = KillSwitch(SqlKillSwitchStore(engine), account, None)
        tripped = kill.trip(KillState.HALTED, why, now_us, trigger=TRIGGER)
    return PnlDayResult(day.label, account, status, rows, detail, why, tripped)


def _fills(events: Any) -> list[OrderFilled]:
    return [e for e in events if isinstance(e, OrderFilled)]


def _deployments(engine: Engine, account: str, fills: list[OrderFilled], ours: Any) -> Any:
    """The deployment of a broker fill: the OMS's fill's, else its order's, else ''."""
    by_fill = {f.transaction_id: f.deployment for f in ours}
    by_order = store.order_deployments(engine, account, (f.client_id for f in fills if f.client_id))

    def deployment_of(f: OrderFilled) -> str:
        if f.transaction_id in by_fill:
            return str(by_fill[f.transaction_id])
        return by_order.get(f.client_id or "", "")

    return deployment_of


def _marks(
    engine: Engine, broker: Broker, day: FxDay, snap: _Snapshot, moved: bool, cfg: PnlCheckConfig
) -> tuple[dict[str, float | None] | None, float | None, Json]:
    """Unrealised P&L per instrument and the NAV at the day's end, and where they came from:
    the broker's own, the live trader's snapshot, or none (see the module's docstring)."""
    if not moved:
        if not snap.positions:  # nothing open, nothing since: the NAV now is the end's
            return {}, snap.account.nav, {"source": "broker", "exact": True}
        ticks = broker.pricing(sorted(snap.positions))
        priced = max((t.ts_us for t in ticks), default=None)
        if priced is not None and priced <= day.end_us + int(cfg.prompt_s * 1_000_000):
            upl: dict[str, float | None] = {i: p.unrealized_pl for i, p in snap.positions.items()}
            lag = (priced - day.end_us) / 1_000_000
            return upl, snap.account.nav, {"source": "broker", "exact": lag <= 0, "lag_s": lag}
    rows = store.live_pnl_before(engine, broker.account_id, day.end_us, cfg.snapshot_max_age_s)
    if rows:
        upl = {r["instrument"]: r["unrealized_pl"] for r in rows if r["instrument"] != "*"}
        nav = next((r["nav"] for r in rows if r["instrument"] == "*"), None)
        return upl, nav, {"source": "live_pnl", "at": rows[0]["at"].isoformat()}
    return None, None, {"source": "none"}
