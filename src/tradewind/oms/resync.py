"""Resync: a person adopts the broker's books into the OMS after reviewing a mismatch.

Reconciliation (``tradewind.oms.reconcile``) only ever reports a difference it cannot
explain, and the trader will not trade on it. When a person has looked at the difference
and decided the broker is right (say a second trader ran on the account, or someone traded
by hand), ``resync``:

1. backfills every transaction after the watermark and resolves orders of unknown outcome
   (as reconciliation does), so nothing the broker did is skipped;
2. sets each instrument's net position to the broker's (its average price too; the realised
   P&L stays the OMS's own);
3. closes local open orders the broker does not have as CANCELLED, reason "resync";
4. records pending broker orders the OMS does not know as ACCEPTED orders (those it cannot
   record, it lists);
5. moves the transaction watermark to the broker's last transaction id;

and writes what it found, what it did, who and why to the OMS audit log (an "event" with
``{"resync": {"by", "reason", "before", "after", ...}}``). It does not reset the kill switch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradewind.domain.broker import PendingOrder, PositionSnapshot
from tradewind.domain.orders import OrderRecord, OrderState, PositionRecord
from tradewind.oms.reconcile import backfill, pending_at_broker, resolve_open
from tradewind.risk.killrecord import is_person

if TYPE_CHECKING:
    from tradewind.oms.manager import OrderManager

log = logging.getLogger(__name__)
_EPS = 1e-6
_ADOPTABLE = {"MARKET": "MARKET", "LIMIT": "LIMIT", "STOP": "STOP"}


class ResyncRefused(ValueError):
    """A resync without a person's name or a reason."""


@dataclass(frozen=True, slots=True)
class ResyncReport:
    by: str
    reason: str
    before: dict[str, Any]
    after: dict[str, Any]
    positions_set: dict[str, float]
    orders_closed: tuple[str, ...]
    orders_adopted: tuple[str, ...]
    orders_listed: tuple[str, ...]  # broker orders it could not record
    backfilled: int
    last_transaction_id: int

    def summary(self) -> str:
        pos = ", ".join(f"{k} {v:g}" for k, v in sorted(self.positions_set.items())) or "none"
        listed = (
            f"; not recorded (check by hand): {', '.join(self.orders_listed)}"
            if self.orders_listed
            else ""
        )
        return (
            f"resynced by {self.by}: {self.backfilled} transaction(s) backfilled; positions set: "
            f"{pos}; {len(self.orders_closed)} local order(s) closed, "
            f"{len(self.orders_adopted)} broker order(s) recorded{listed}; "
            f"last transaction {self.last_transaction_id}"
        )


def books(oms: OrderManager) -> dict[str, Any]:
    """The OMS's books as the audit log shows them."""
    return {
        "positions": {k: v.units for k, v in sorted(oms.positions().items())},
        "open_orders": sorted(o.client_id for o in oms.open_orders()),
        "last_transaction_id": oms.last_transaction_id,
    }


def _as_record(oms: OrderManager, key: str, o: PendingOrder) -> OrderRecord | None:
    typ = _ADOPTABLE.get(o.type)
    if typ is None or len(key) > 40 or oms.store.order(key) is not None:
        return None
    now = oms.clock()
    return OrderRecord(
        client_id=key,
        account_id=oms.account_id,
        instrument=o.instrument,
        units=o.units,
        type=typ,
        state=OrderState.ACCEPTED,
        created_us=o.created_us or now,
        updated_us=now,
        reason="adopted by resync",
        price=o.price,
        price_bound=o.price_bound,
        time_in_force=o.time_in_force,
        broker_order_id=o.broker_order_id,
    )


def _listed(o: PendingOrder) -> str:
    return f"{o.type} order {o.broker_order_id} ({o.instrument} {o.units:g})"


def resync(oms: OrderManager, by: str, reason: str) -> ResyncReport:
    """Make the OMS's books the broker's (see the module doc). The caller holds the
    account's lease, so no trader changes the books meanwhile."""
    if not is_person(by):
        raise ResyncRefused(f"a resync needs a person's name (--by), not {by!r}")
    if not reason.strip():
        raise ResyncRefused("a resync needs a reason (--reason)")
    before = books(oms)
    backfilled, _ = backfill(oms)
    resolved, _ = resolve_open(oms, grace_us=0)
    if resolved:
        backfilled += backfill(oms)[0]
    last = oms.broker.account_summary().last_transaction_id
    found = books(oms)

    # positions: the broker's net units per instrument
    now = oms.clock()
    broker_pos = {p.instrument: p for p in oms.broker.list_positions(open_only=False)}
    local = oms.positions()
    changed: list[PositionRecord] = []
    for inst in sorted(set(broker_pos) | set(local)):
        p = broker_pos.get(inst) or PositionSnapshot(inst, 0.0)
        units = p.units
        mine = local.get(inst)
        if abs(units - (mine.units if mine else 0.0)) <= _EPS:
            continue
        avg = p.avg_price if abs(units) > _EPS else 0.0
        realised = mine.realized_pl if mine is not None else 0.0
        changed.append(PositionRecord(oms.account_id, inst, units, avg, realised, now))

    # orders: ours the broker does not have are closed, theirs we do not know recorded
    theirs = pending_at_broker(oms)
    closed = []
    for order in oms.open_orders():
        if order.client_id not in theirs:
            oms.close_unsent(order, "resync")
            closed.append(order.client_id)
    ours = {o.client_id for o in oms.open_orders()}
    adopted, listed = [], []
    for key, pending in theirs.items():
        if key in ours:
            continue
        record = _as_record(oms, key, pending)
        if record is None:
            listed.append(_listed(pending))
            continue
        body = {"resync_adopted": {"by": by, "broker_order": dict(pending.raw)}}
        oms.adopt_order(record, body)
        adopted.append(key)

    # positions and the watermark, with the adoption event (one transaction for positions)
    oms.adopt(changed, last)
    after = books(oms)
    report = ResyncReport(
        by=by.strip(),
        reason=reason.strip(),
        before=before,
        after=after,
        positions_set={p.instrument: p.units for p in changed},
        orders_closed=tuple(closed),
        orders_adopted=tuple(adopted),
        orders_listed=tuple(listed),
        backfilled=backfilled,
        last_transaction_id=oms.last_transaction_id or last,
    )
    oms.store.audit(
        oms.account_id,
        "event",
        {
            "resync": {
                "by": report.by,
                "reason": report.reason,
                "before": before,
                "found": found,
                "after": after,
                "positions_set": report.positions_set,
                "orders_closed": list(closed),
                "orders_adopted": list(adopted),
                "orders_listed": list(listed),
                "backfilled": backfilled,
                "last_transaction_id": report.last_transaction_id,
            }
        },
    )
    log.warning("account %s: %s (%s)", oms.account_id, report.summary(), report.reason)
    return report


__all__ = ["ResyncRefused", "ResyncReport", "books", "resync"]
