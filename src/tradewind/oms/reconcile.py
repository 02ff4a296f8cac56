"""Reconciliation: make the local books agree with the broker's, or say why they cannot.

1. **Backfill**: every transaction after the local watermark is fetched and applied (each
   once), so fills and cancels missed while down or disconnected land in the books.
   An account seen for the first time is *adopted* instead: its positions and last
   transaction id are taken as they are.
2. **Resolve**: each local order still NEW, SUBMITTED or UNKNOWN is looked up by its client
   id. Found: its answer is applied. Not found: it never reached the broker (the process died
   before sending, or the request was lost on the way); it is closed as CANCELLED, never sent
   again. An order younger than ``grace_us`` may still be in flight and stays unresolved.
3. **Compare**: open orders (ours against the broker's pending ones; stop-loss and
   take-profit orders that hang on a trade are the broker's own), net position per instrument,
   and the last transaction id. Any difference left makes the report unclean; the trader does
   not trade on an unclean book and trips the kill switch.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tradewind.broker.errors import BrokerError, NotFound, RejectedOrder
from tradewind.domain.orders import OrderState, PositionRecord

if TYPE_CHECKING:
    from tradewind.oms.manager import OrderManager

log = logging.getLogger(__name__)
_DEPENDENT = frozenset({"STOP_LOSS", "TAKE_PROFIT", "TRAILING_STOP_LOSS", "GUARANTEED_STOP_LOSS"})
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

    def summary(self) -> str:
        state = "clean" if self.clean else "NOT clean"
        head = (
            f"{state}: {self.backfilled} transaction(s) backfilled, "
            f"{len(self.resolved)} order(s) resolved, last transaction {self.last_transaction_id}"
        )
        return head if self.clean else head + "; " + "; ".join(self.differences)


def _net_units(position: dict[str, Any]) -> float:
    long_units = float((position.get("long") or {}).get("units", 0) or 0)
    short_units = float((position.get("short") or {}).get("units", 0) or 0)
    return long_units + short_units


def _avg_price(position: dict[str, Any], units: float) -> float:
    side = position.get("long" if units > 0 else "short") or {}
    try:
        return float(side.get("averagePrice", 0.0) or 0.0)
    except (TypeError, ValueError):
        return 0.0


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
        for tx in page.transactions:
            applied += int(oms.apply_transaction(tx))
        last = int(page.last_transaction_id)
        top = max([int(t["id"]) for t in page.transactions], default=since)
        oms.advance(max(top, since))
        if not page.transactions or top >= last:
            oms.advance(last)
            return applied, False


def adopt(oms: OrderManager) -> None:
    """Take a broker account's positions and last transaction id as they are."""
    summary = oms.broker.account_summary()
    account = summary.get("account", summary)
    last = int(summary.get("lastTransactionID") or account.get("lastTransactionID") or 0)
    now = oms.clock()
    records = []
    for p in oms.broker.list_positions(open_only=True):
        units = _net_units(p)
        if abs(units) > _EPS:
            inst = str(p["instrument"])
            records.append(
                PositionRecord(oms.account_id, inst, units, _avg_price(p, units), 0.0, now)
            )
    oms.adopt(records, last)
    log.info(
        "adopted account %s at transaction %d (%d positions)", oms.account_id, last, len(records)
    )


def resolve_open(oms: OrderManager, grace_us: int) -> tuple[list[str], list[str]]:
    """Look up orders whose outcome we do not know. Returns (resolved, still unknown)."""
    resolved: list[str] = []
    unknown: list[str] = []
    now = oms.clock()
    for order in oms.open_orders():
        if order.state not in _UNSENT:
            continue
        cid = order.client_id
        try:
            result = oms.broker.resolve_order(cid, since_id=str(oms.last_transaction_id or 0))
        except NotFound:
            if order.state != OrderState.NEW and now - order.updated_us < grace_us:
                unknown.append(f"order {cid} is not at the broker yet (may be in flight)")
                continue
            oms.close_unsent(order, "not at the broker: never placed")
            resolved.append(cid)
            continue
        except RejectedOrder as exc:
            oms.close_unsent(order, exc.reason or "rejected", state=OrderState.REJECTED)
            resolved.append(cid)
            continue
        except BrokerError as exc:
            unknown.append(f"order {cid}: cannot resolve: {exc}")
            continue
        oms.record_result(cid, result)
        resolved.append(cid)
    return resolved, unknown


def compare(oms: OrderManager) -> list[str]:
    """Differences between the local books and the broker's, after backfill and resolve."""
    diffs: list[str] = []
    pending = oms.broker.list_orders(state="PENDING")
    theirs = {}
    for o in pending:
        if o.get("type") in _DEPENDENT:
            continue
        cid = (o.get("clientExtensions") or {}).get("id")
        theirs[cid or f"#{o.get('id')}"] = o
    ours = {o.client_id: o for o in oms.open_orders()}
    for cid, o in ours.items():
        if cid not in theirs:
            diffs.append(f"order {cid} is {o.state.value} here but not pending at the broker")
    for key, o in theirs.items():
        if key not in ours:
            diffs.append(
                f"the broker has a pending {o.get('type')} order {o.get('id')} "
                f"({o.get('instrument')} {o.get('units')}) that is not ours"
            )
    broker_units = {
        str(p["instrument"]): _net_units(p) for p in oms.broker.list_positions(open_only=False)
    }
    local = {k: v.units for k, v in oms.positions().items()}
    for inst in sorted(set(broker_units) | set(local)):
        b, mine = broker_units.get(inst, 0.0), local.get(inst, 0.0)
        if abs(b - mine) > _EPS:
            diffs.append(f"position {inst}: {mine:g} units here, {b:g} at the broker")
    return diffs


def reconcile(oms: OrderManager, grace_us: int = 60_000_000) -> ReconcileReport:
    """Backfill, resolve, compare; the result is stored with the account and audited."""
    backfilled, adopted = backfill(oms)
    resolved, unknown = resolve_open(oms, grace_us)
    if resolved:
        more, _ = backfill(oms)
        backfilled += more
    diffs = unknown + compare(oms)
    report = ReconcileReport(
        clean=not diffs,
        differences=tuple(diffs),
        backfilled=backfilled,
        resolved=tuple(resolved),
        last_transaction_id=oms.last_transaction_id or 0,
        adopted=adopted,
    )
    oms.store.set_reconciled(
        oms.account_id,
        "clean" if report.clean else "failed",
        report.summary(),
        asdict(report),
    )
    (log.info if report.clean else log.error)("reconcile %s: %s", oms.account_id, report.summary())
    return report
