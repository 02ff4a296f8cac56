"""Reconciliation: make the local books agree with the broker's, or say why they cannot.

1. **Backfill**: every transaction after the local watermark is fetched and applied (each
   once), so fills and cancels missed while down or disconnected land in the books.
   An account seen for the first time is *adopted* instead: its positions and last
   transaction id are taken as they are.
2. **Resolve**: each local order still NEW, SUBMITTED or UNKNOWN is looked up by its client
   id. Found: its answer is applied. Not found: it never reached the broker (the process died
   before sending, or the request was lost on the way); it is closed as CANCELLED, never sent
   again. Orders this process is sending right now (``OrderManager.in_flight``) are not looked
   up at all. An order not found but younger than ``grace_us`` (since it was sent), or one
   whose lookup failed, is *waiting*: not a difference, looked up again next time.
3. **Compare**: open orders (ours against the broker's pending ones; stop-loss and
   take-profit orders that hang on a trade are the broker's own), net position per instrument,
   and the last transaction id. A difference that an order in flight or waiting explains (its
   order, or a position of its instrument) is *deferred*, not a mismatch. Any other difference
   makes the report unclean; the trader does not trade on an unclean book and trips the kill
   switch. Waiting orders never halt it: they stay open (pending) until resolved.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from tradewind.broker.errors import BrokerError, NotFound, RejectedOrder
from tradewind.domain.broker import PendingOrder
from tradewind.domain.orders import OrderState, PositionRecord

if TYPE_CHECKING:
    from tradewind.oms.manager import OrderManager

log = logging.getLogger(__name__)
_UNSENT = (OrderState.NEW, OrderState.SUBMITTED, OrderState.UNKNOWN)
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    clean: bool
    differences: tuple[str, ...]
    backfilled: int
    resolved: tuple[str, ...]
    last_transaction_id: int
    adopted: bool = False
    waiting: tuple[str, ...] = ()  # orders not resolved yet, within their grace period
    deferred: tuple[str, ...] = ()  # differences that orders in flight or waiting explain

    def summary(self) -> str:
        state = "clean" if self.clean else "NOT clean"
        head = (
            f"{state}: {self.backfilled} transaction(s) backfilled, "
            f"{len(self.resolved)} order(s) resolved, last transaction {self.last_transaction_id}"
        )
        if self.waiting:
            head += f"; waiting for {len(self.waiting)} order(s): " + "; ".join(self.waiting)
        if self.deferred:
            head += f"; {len(self.deferred)} difference(s) deferred (orders in flight)"
        return head if self.clean else head + "; " + "; ".join(self.differences)


def pending_at_broker(oms: OrderManager) -> dict[str, PendingOrder]:
    """The broker's pending orders that are not attached to a trade, by client id (``#`` and
    the broker's id for an order without one)."""
    out: dict[str, PendingOrder] = {}
    for o in oms.broker.list_orders(state="PENDING"):
        if not o.attached:
            out[o.client_id or f"#{o.broker_order_id}"] = o
    return out


def backfill(oms: OrderManager) -> tuple[int, bool]:
    """Apply every transaction after the watermark; adopt an unseen account. Returns
    (transactions applied, adopted)."""
    if oms.last_transaction_id is None:
        adopt(oms)
        return 0, True
    applied = 0
    while True:
        since = oms.last_transaction_id or 0
        page = oms.broker.transactions_since(str(since))
        for event in page.transactions:
            applied += int(oms.apply_transaction(event))
        last = int(page.last_transaction_id)
        top = max([e.transaction_id for e in page.transactions], default=since)
        oms.advance(max(top, since))
        if not page.transactions or top >= last:
            oms.advance(last)
            return applied, False


def adopt(oms: OrderManager) -> None:
    """Take a broker account's positions and last transaction id as they are."""
    last = oms.broker.account_summary().last_transaction_id
    now = oms.clock()
    records = []
    for p in oms.broker.list_positions(open_only=True):
        if abs(p.units) > _EPS:
            records.append(
                PositionRecord(oms.account_id, p.instrument, p.units, p.avg_price, 0.0, now)
            )
    oms.adopt(records, last)
    log.info(
        "adopted account %s at transaction %d (%d positions)", oms.account_id, last, len(records)
    )


def resolve_open(oms: OrderManager, grace_us: int) -> tuple[list[str], dict[str, str]]:
    """Look up orders whose outcome we do not know. Returns (resolved client ids, waiting:
    client id -> why). Orders in flight in this process are left to their sender."""
    resolved: list[str] = []
    waiting: dict[str, str] = {}
    now = oms.clock()
    # open orders first: one prepared meanwhile (no lock) is in flight by the time it is open
    orders = oms.open_orders()
    in_flight = oms.in_flight()
    for order in orders:
        if order.state not in _UNSENT or order.client_id in in_flight:
            continue
        cid = order.client_id
        try:
            result = oms.broker.resolve_order(cid, since_id=str(oms.last_transaction_id or 0))
        except NotFound:
            if order.state != OrderState.NEW and now - order.updated_us < grace_us:
                left = (grace_us - (now - order.updated_us)) / 1e6
                waiting[cid] = (
                    f"order {cid} ({order.state.value}) is not at the broker yet; "
                    f"it may still arrive: looked up again for {left:.0f} s more"
                )
                continue
            oms.close_unsent(order, "not at the broker: never placed")
            resolved.append(cid)
            continue
        except RejectedOrder as exc:
            oms.close_unsent(order, exc.reason or "rejected", state=OrderState.REJECTED)
            resolved.append(cid)
            continue
        except BrokerError as exc:
            waiting[cid] = f"order {cid}: cannot look it up now ({exc})"
            continue
        oms.record_result(cid, result)
        resolved.append(cid)
    return resolved, waiting


def differences(oms: OrderManager, waiting: frozenset[str]) -> list[tuple[str, bool]]:
    """Differences between the local books and the broker's, after backfill and resolve, as
    (difference, explained by an unsettled order: ``waiting`` or in flight) pairs. Runs under
    the OMS's lock (``OrderManager.reconcile``): no order in flight records its answer or is
    sent meanwhile. Orders may still be prepared (``OrderManager.prepare`` takes no lock):
    the open orders are read before the orders in flight, so one prepared in between is
    both; one prepared after is not compared (it cannot reach the broker before the
    reconciliation ends)."""
    ours = {o.client_id: o for o in oms.open_orders()}
    unsettled = waiting | oms.in_flight()
    busy = {o.instrument for cid, o in ours.items() if cid in unsettled}
    diffs: list[tuple[str, bool]] = []
    theirs = pending_at_broker(oms)
    for cid, o in ours.items():
        if cid not in theirs:
            diffs.append(
                (
                    f"order {cid} is {o.state.value} here but not pending at the broker",
                    cid in unsettled,
                )
            )
    for key, p in theirs.items():
        if key not in ours:
            diffs.append(
                (
                    f"the broker has a pending {p.type} order {p.broker_order_id} "
                    f"({p.instrument} {p.units:g}) that is not ours",
                    key in unsettled or p.instrument in busy,
                )
            )
    broker_units = {p.instrument: p.units for p in oms.broker.list_positions(open_only=False)}
    local = {k: v.units for k, v in oms.positions().items()}
    for inst in sorted(set(broker_units) | set(local)):
        b, mine = broker_units.get(inst, 0.0), local.get(inst, 0.0)
        if abs(b - mine) > _EPS:
            text = f"position {inst}: {mine:g} units here, {b:g} at the broker"
            diffs.append((text, inst in busy))
    return diffs


def reconcile(oms: OrderManager, grace_us: int = 60_000_000) -> ReconcileReport:
    """Backfill, resolve, compare; the result is stored with the account and audited."""
    backfilled, adopted = backfill(oms)
    resolved, waiting = resolve_open(oms, grace_us)
    if resolved:
        more, _ = backfill(oms)
        backfilled += more
    found = differences(oms, frozenset(waiting))
    diffs = [d for d, explained in found if not explained]
    report = ReconcileReport(
        clean=not diffs,
        differences=tuple(diffs),
        backfilled=backfilled,
        resolved=tuple(resolved),
        last_transaction_id=oms.last_transaction_id or 0,
        adopted=adopted,
        waiting=tuple(waiting.values()),
        deferred=tuple(d for d, explained in found if explained),
    )
    oms.store.set_reconciled(
        oms.account_id,
        "clean" if report.clean else "failed",
        report.summary(),
        asdict(report),
    )
    (log.info if report.clean else log.error)("reconcile %s: %s", oms.account_id, report.summary())
    return report
