"""The order manager: every order written before it is sent, every transaction applied once.

``submit`` makes a ULID client id, commits the order as NEW with the command in the audit log,
marks it SUBMITTED, sends it, and records the answer: the broker's transactions (each applied
once, fills moving positions), a reject (REJECTED with the broker's reason), or a lost answer
(UNKNOWN: resolved later by the client id, never sent again). ``apply_transaction`` takes the
transaction stream the same way, so an order's state does not depend on which of the two
arrives first. Thread-safe: one lock around every change (but the commit of a prepared order,
which runs outside it so that ``prepare`` never waits for that commit).

The order worker (``oms.worker``) splits ``submit`` in two: ``prepare`` (on the price thread:
the client id and the NEW order in memory, in flight, no database write) and ``send`` (on the
worker's thread: the order committed with its command, *then* sent). An order whose commit
fails is never sent: it is closed in memory only (REJECTED, "not sent: it could not be
stored"), as is one dropped before it was stored; ``order`` keeps answering for those.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from tradewind.broker.errors import BrokerError, RejectedOrder, UnknownOutcome
from tradewind.broker.ports import Broker, OrderRequest, OrderResult
from tradewind.domain.broker import (
    BrokerEvent,
    FinancingCharged,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
)
from tradewind.domain.ids import new_ulid
from tradewind.domain.orders import (
    FillRecord,
    OrderIntent,
    OrderRecord,
    OrderState,
    PositionRecord,
    can_transition,
)
from tradewind.oms.ledger import apply_fill, apply_financing, fill_record
from tradewind.oms.reconcile import ReconcileReport, reconcile
from tradewind.oms.store import OmsStore

log = logging.getLogger(__name__)
Json = dict[str, Any]
_EPS = 1e-9
_NEVER_STORED_KEPT = 10_000  # closed orders that never reached the store, kept for ``order``


class OmsStoreError(RuntimeError):
    """The OMS's store did something it must never do (e.g. reported a transaction as
    applied before without having it): the books cannot be trusted until a person looks."""


@dataclass(frozen=True, slots=True)
class OmsEvent:
    """What happened to an order, for risk (streaks) and the trader: ``kind`` is accepted,
    filled, rejected, error, unknown or cancelled."""

    kind: str
    order: OrderRecord
    detail: str = ""


def wall_us() -> int:
    return time.time_ns() // 1000


def _request(intent: OrderIntent, client_id: str) -> OrderRequest:
    gtd = None
    if intent.gtd_time_us is not None:
        secs, us = divmod(intent.gtd_time_us, 1_000_000)
        gtd = f"{secs}.{us:06d}"
    return OrderRequest(
        instrument=intent.instrument,
        units=f"{intent.units:.10f}".rstrip("0").rstrip("."),
        type=intent.type,
        client_id=client_id,
        price=intent.price,
        price_bound=intent.price_bound,
        time_in_force=intent.time_in_force,  # type: ignore[arg-type]  # str, not TimeInForce
        gtd_time=gtd,
        position_fill="REDUCE_ONLY" if intent.reduce_only else "DEFAULT",
        stop_loss=intent.stop_loss,
        tag=intent.deployment[:128] or None,
        comment=intent.reason[:128] or None,
    )


class OrderManager:
    """Orders, fills and positions of one broker account."""

    def __init__(
        self,
        broker: Broker,
        store: OmsStore,
        account_id: str,
        *,
        clock: Callable[[], int] = wall_us,
        on_event: Callable[[OmsEvent], None] | None = None,
        after_send: Callable[[OrderRecord], None] | None = None,
    ) -> None:
        self.broker = broker
        self.store = store
        self.account_id = account_id
        self.clock = clock
        self.on_event = on_event
        self._after_send = after_send  # a test's crash point: after the broker acted
        self._lock = threading.RLock()
        self._prepare_lock = threading.Lock()  # ``prepare`` only (see there)
        self._in_flight: set[str] = set()
        self._requests: dict[str, OrderRequest] = {}
        self._unstored: set[str] = set()  # prepared, not committed yet
        self._never_stored: dict[str, OrderRecord] = {}  # closed before they were committed
        self._orders = {o.client_id: o for o in store.orders(account_id, open_only=True)}
        self._by_broker = {o.broker_order_id: o.client_id for o in self._orders.values()}
        self._positions = store.positions(account_id)
        self._last_tx = store.last_transaction_id(account_id)

    # --- reading -------------------------------------------------------------------------
    @property
    def last_transaction_id(self) -> int | None:
        return self._last_tx

    # Reads take no lock: they copy (atomic under the GIL) what the writers replace whole,
    # so the desk's hot path never waits behind a reconciliation's network calls.
    def order(self, client_id: str) -> OrderRecord:
        found = (
            self._orders.get(client_id)
            or self._never_stored.get(client_id)
            or self.store.order(client_id)
        )
        if found is None:
            raise KeyError(f"no order with client id {client_id}")
        return found

    def open_orders(self, instrument: str | None = None) -> list[OrderRecord]:
        return [
            o
            for o in list(self._orders.values())
            if o.open and (instrument is None or o.instrument == instrument)
        ]

    def position(self, instrument: str) -> float:
        p = self._positions.get(instrument)
        return p.units if p is not None else 0.0

    def position_record(self, instrument: str) -> PositionRecord | None:
        return self._positions.get(instrument)

    def positions(self) -> dict[str, PositionRecord]:
        return dict(self._positions)

    def pending_units(self, instrument: str) -> float:
        return sum(o.unfilled_units for o in self.open_orders(instrument))

    # --- sending -------------------------------------------------------------------------
    def submit(self, intent: OrderIntent) -> OrderRecord:
        """Record, send and record the answer. Never raises for what the broker says; the
        returned record's state tells (REJECTED with ``reject_reason``, UNKNOWN when lost).
        Raises if the order cannot be stored (then it is neither stored nor sent)."""
        cid = self.prepare(intent).client_id
        try:
            self.store_prepared(cid)
        except BaseException:
            with self._lock:  # as if never prepared: nothing stored, nothing sent
                self._forget(cid)
                self._orders.pop(cid, None)
            raise
        return self.send(cid)

    def in_flight(self) -> frozenset[str]:
        """Client ids this process has prepared or is sending and whose answer it has not
        recorded yet: reconciliation waits for them instead of calling them missing."""
        return frozenset(self._in_flight)

    def prepare(self, intent: OrderIntent) -> OrderRecord:
        """Give the order its client id and make it NEW in memory, in flight, without storing
        or sending it (no database write, no network): ``send`` commits it, then sends it,
        maybe on another thread. ``order``, ``open_orders`` and reconciliation see it now.

        It takes no OMS lock, so the price thread never waits for a reconciliation that holds
        it across its broker calls. It only adds entries under a new client id, in flight
        first and open last: whoever sees the order open sees it in flight, and it stays in
        flight until ``send`` is done with it, which takes the lock (so not before the
        reconciliation ends). Reconciliation reads the open orders before the orders in
        flight (``reconcile.resolve_open``, ``reconcile.differences``)."""
        cid = new_ulid()
        now = self.clock()
        order = OrderRecord(
            client_id=cid,
            account_id=self.account_id,
            instrument=intent.instrument,
            units=intent.units,
            type=intent.type,
            state=OrderState.NEW,
            created_us=now,
            updated_us=now,
            deployment=intent.deployment,
            algo=intent.algo,
            reason=intent.reason,
            price=intent.price,
            price_bound=intent.price_bound,
            time_in_force=intent.time_in_force,
            stop_loss=intent.stop_loss,
        )
        request = _request(intent, cid)
        with self._prepare_lock:
            self._in_flight.add(cid)
            self._unstored.add(cid)
            self._requests[cid] = request
            self._orders[cid] = order  # last: open means in flight already
        return order

    def store_prepared(self, client_id: str) -> None:
        """Commit a prepared order (NEW, with its command) if it is not yet: before it is
        sent, so a crash after the send leaves it for reconciliation. Raises if the store
        fails (the order stays prepared, unstored)."""
        with self._lock:
            order, request = self._orders.get(client_id), self._requests.get(client_id)
            if client_id not in self._unstored:
                return
        if order is None or request is None or order.state is not OrderState.NEW:
            raise KeyError(f"no prepared order with client id {client_id}")
        # not under the lock: the price thread's ``prepare`` never waits for a commit
        self.store.insert_order(order, {"submit": _jsonable(asdict(request))})
        with self._lock:
            self._unstored.discard(client_id)

    def send(self, client_id: str) -> OrderRecord:
        """Commit a prepared order (``store_prepared``), send it and record the answer (see
        ``submit``). If it cannot be committed it is not sent: it ends REJECTED in memory."""
        try:
            try:
                self.store_prepared(client_id)
            except KeyError:
                raise
            except Exception as exc:
                return self._not_stored(client_id, exc)
            return self._send(client_id)
        finally:
            with self._lock:
                self._forget(client_id)

    def _not_stored(self, cid: str, exc: Exception) -> OrderRecord:
        first = (str(exc).splitlines() or [""])[0][:200]
        reason = f"not sent: it could not be stored ({type(exc).__name__}: {first})"
        log.error("order %s: %s", cid, reason, exc_info=exc)
        with self._lock:
            order = self._orders.get(cid)
            if order is None or cid not in self._unstored:  # closed meanwhile (dropped)
                return self.order(cid)
            closed = self._close_unstored(order, OrderState.REJECTED, reason)
        self._emit("error", closed, reason)
        return closed

    def _send(self, cid: str) -> OrderRecord:
        with self._lock:
            request = self._requests.get(cid)
            order = self._orders.get(cid)
            if request is None or order is None or order.state is not OrderState.NEW:
                raise KeyError(f"no prepared order with client id {cid}")
            order = self._set(order, OrderState.SUBMITTED)
        try:
            result = self.broker.submit_order(request)
        except RejectedOrder as exc:
            return self._rejected(order, exc)
        except UnknownOutcome as exc:
            with self._lock:
                current = self._orders.get(cid) or self.store.order(cid) or order
                if current.state not in (OrderState.SUBMITTED, OrderState.NEW):
                    # the transaction stream already carried the order (by its client id)
                    self.store.audit(
                        self.account_id,
                        "response",
                        {"lost": str(exc), "resolved_by": "transaction stream"},
                        client_id=cid,
                        deployment=order.deployment,
                    )
                    return current
                order = self._set(current, OrderState.UNKNOWN, "response", {"lost": str(exc)})
            self._emit("unknown", order, str(exc))
            return order
        except BrokerError as exc:  # refused before it was placed (a 429, a 4xx, no connection)
            with self._lock:
                order = self._set(
                    self._orders.get(cid, order),
                    OrderState.REJECTED,
                    "response",
                    {"error": type(exc).__name__, "message": str(exc)},
                    reject_reason=f"{type(exc).__name__}: {exc}",
                )
            self._emit("error", order, str(exc))
            return order
        if self._after_send is not None:
            self._after_send(order)
        return self.record_result(cid, result)

    def record_result(self, client_id: str, result: OrderResult) -> OrderRecord:
        """Apply an order's answer (from ``submit`` or ``broker.resolve_order``)."""
        with self._lock:
            order = self._orders.get(client_id) or self.store.order(client_id)
            if order is None:
                raise KeyError(f"no order with client id {client_id}")
            self.store.audit(
                self.account_id,
                "response",
                {"result": _jsonable({k: v for k, v in asdict(result).items() if k != "raw"})},
                client_id=client_id,
                deployment=order.deployment,
            )
            for event in sorted(result.transactions, key=lambda e: e.transaction_id):
                self.apply_transaction(event)
            order = self._orders.get(client_id) or self.store.order(client_id) or order
            if result.state == "PENDING" and order.state in (
                OrderState.SUBMITTED,
                OrderState.UNKNOWN,
                OrderState.NEW,
            ):
                order = self._set(order, OrderState.ACCEPTED, broker_order_id=result.order_id)
        return order

    def _rejected(self, order: OrderRecord, exc: RejectedOrder) -> OrderRecord:
        with self._lock:
            applied = exc.event is not None and self.apply_transaction(exc.event)
            current = self._orders.get(order.client_id) or self.store.order(order.client_id)
            if current is not None and current.state != OrderState.REJECTED:
                current = self._set(
                    current,
                    OrderState.REJECTED,
                    "response",
                    {"rejected": str(exc), "reason": exc.reason},
                    reject_reason=exc.reason or str(exc),
                )
                applied = False
        if not applied:
            self._emit("rejected", current or order, exc.reason or str(exc))
        return current or order

    def cancel(self, client_id: str) -> OrderRecord:
        """Cancel a pending order at the broker; its ``OrderCancelled`` event closes it."""
        order = self.order(client_id)
        if not order.open:
            return order
        self.store.audit(self.account_id, "command", {"cancel": client_id}, client_id=client_id)
        try:
            events = self.broker.cancel_order(client_id=client_id)
        except BrokerError as exc:
            self.store.audit(
                self.account_id,
                "response",
                {"cancel_failed": str(exc), "error": type(exc).__name__},
                client_id=client_id,
            )
            log.warning("cancel %s: %s", client_id, exc)
            return self.order(client_id)
        for event in sorted(events, key=lambda e: e.transaction_id):
            if isinstance(event, OrderCancelled):
                self.apply_transaction(event)
        return self.order(client_id)

    # --- transactions --------------------------------------------------------------------
    def apply_transaction(self, event: BrokerEvent) -> bool:
        """Apply one broker transaction (idempotent: False if it was applied before)."""
        with self._lock:
            changed: list[OrderRecord] = []
            fill: FillRecord | None = None
            position: PositionRecord | None = None
            ts = event.time_us or self.clock()
            order = self._order_of(event)
            if order is not None:
                updated = self._order_after(order, event, ts)
                if updated is not None and updated != order:
                    changed.append(updated)
            if isinstance(event, OrderFilled):
                fill = fill_record(self.account_id, event, ts)
                if order is not None:
                    fill = replace(fill, client_id=order.client_id, deployment=order.deployment)
                position = apply_fill(self._positions.get(fill.instrument), fill)
            financed: list[PositionRecord] = []
            if isinstance(event, FinancingCharged):
                financed = [
                    apply_financing(self._positions.get(name), self.account_id, name, amount, ts)
                    for name, amount in event.per_instrument
                ]
            new = self.store.record_transaction(
                self.account_id,
                event,
                fill=fill,
                position=position,
                orders=changed,
                positions=financed,
                financing=event.per_instrument if isinstance(event, FinancingCharged) else (),
            )
            if not new:
                if not self.store.transaction_recorded(self.account_id, event.transaction_id):
                    # the store said "seen before" but holds no trace of it: moving on would
                    # advance the watermark past a transaction whose fill was never written
                    raise OmsStoreError(
                        f"transaction {event.transaction_id} of {self.account_id} was neither "
                        "applied nor found recorded; the watermark stays where it is"
                    )
                return False
            for p in [position] if position is not None else []:
                self._positions[p.instrument] = p
            for p in financed:
                self._positions[p.instrument] = p
            for o in changed:
                self._remember(o)
        for o in changed:
            self._emit_state(o, event)
        return True

    def advance(self, last_id: int) -> None:
        """Every transaction up to ``last_id`` has been applied (stream or backfill)."""
        with self._lock:
            if self._last_tx is None or last_id > self._last_tx:
                self.store.set_last_transaction_id(self.account_id, last_id)
                self._last_tx = last_id

    def _order_of(self, event: BrokerEvent) -> OrderRecord | None:
        cid: str | None = None
        if isinstance(event, OrderAccepted | OrderRejected):
            cid = event.client_id
        elif isinstance(event, OrderFilled | OrderCancelled):
            cid = self._by_broker.get(event.broker_order_id) if event.broker_order_id else None
            cid = cid or event.client_id
        if not cid:
            return None
        return self._orders.get(cid) or self.store.order(cid)

    def _order_after(self, o: OrderRecord, event: BrokerEvent, ts: int) -> OrderRecord | None:
        if isinstance(event, OrderAccepted):
            state = OrderState.SUBMITTED if o.state == OrderState.NEW else o.state
            if state in (OrderState.SUBMITTED, OrderState.UNKNOWN):
                state = OrderState.ACCEPTED
            return self._moved(o, state, ts, broker_order_id=event.broker_order_id)
        if isinstance(event, OrderRejected):
            return self._moved(o, OrderState.REJECTED, ts, reject_reason=event.reason)
        if isinstance(event, OrderFilled):
            units, price = event.units, event.price
            filled = o.filled_units + units
            avg = (
                price
                if not o.avg_price
                else ((o.filled_units * o.avg_price + units * price) / filled if filled else price)
            )
            done = abs(filled) >= abs(o.units) - _EPS
            state = OrderState.FILLED if done else OrderState.PARTIALLY_FILLED
            return self._moved(o, state, ts, filled_units=filled, avg_price=avg)
        if isinstance(event, OrderCancelled):
            if event.replaced_by:
                return None
            return self._moved(o, OrderState.CANCELLED, ts, reject_reason=event.reason)
        return None

    def _moved(self, o: OrderRecord, state: OrderState, ts: int, **fields: Any) -> OrderRecord:
        if not can_transition(o.state, state):
            log.error(
                "order %s: the broker moved it from %s to %s; recording the broker's view",
                o.client_id,
                o.state.value,
                state.value,
            )
        return replace(o, state=state, updated_us=max(ts, o.updated_us), **fields)

    # --- reconciliation ------------------------------------------------------------------
    def reconcile(self, grace_us: int = 60_000_000) -> ReconcileReport:
        """See ``tradewind.oms.reconcile``."""
        with self._lock:
            return reconcile(self, grace_us)

    def adopt(self, positions: list[PositionRecord], last_id: int) -> None:
        """Start the books of an account seen for the first time from the broker's."""
        with self._lock:
            self.store.put_positions(
                positions, {"adopted": [asdict(p) for p in positions], "last": last_id}
            )
            self.store.set_last_transaction_id(self.account_id, last_id)
            self._positions.update({p.instrument: p for p in positions})
            self._last_tx = last_id

    def drop_prepared(self, client_id: str, reason: str) -> OrderRecord | None:
        """Close a prepared order that will not be sent (never reached the broker): in memory
        only if it was never stored, else in the store too."""
        with self._lock:
            self._in_flight.discard(client_id)
            self._requests.pop(client_id, None)
            order = self._orders.get(client_id)
            if order is None or order.state is not OrderState.NEW:
                return order
        return self.close_unsent(order, reason)

    def adopt_order(self, order: OrderRecord, body: Json) -> None:
        """Take into the books an order the broker has and the OMS never sent (resync)."""
        with self._lock:
            self.store.insert_order(order, body)
            self._remember(order)

    def close_unsent(
        self, order: OrderRecord, reason: str, state: OrderState = OrderState.CANCELLED
    ) -> OrderRecord:
        """Close an order the broker never had (found absent by its client id); one never
        stored is closed in memory only."""
        with self._lock:
            if order.client_id in self._unstored:
                closed = self._close_unstored(order, state, reason)
            else:
                closed = self._set(order, state, "event", {"closed": reason}, reject_reason=reason)
        self._emit("cancelled" if state == OrderState.CANCELLED else "rejected", closed, reason)
        return closed

    # --- internals -----------------------------------------------------------------------
    def _forget(self, cid: str) -> None:
        """No longer in flight (sent, or closed unsent). Under the lock."""
        self._in_flight.discard(cid)
        self._requests.pop(cid, None)
        self._unstored.discard(cid)

    def _close_unstored(self, order: OrderRecord, state: OrderState, reason: str) -> OrderRecord:
        """Close in memory an order that never reached the store (nor the broker): it leaves
        the open orders; ``order`` still finds it. Under the lock."""
        cid = order.client_id
        closed = replace(order, state=state, updated_us=self.clock(), reject_reason=reason)
        self._forget(cid)
        self._orders.pop(cid, None)
        self._never_stored[cid] = closed
        while len(self._never_stored) > _NEVER_STORED_KEPT:
            del self._never_stored[next(iter(self._never_stored))]
        return closed

    def _set(
        self,
        order: OrderRecord,
        state: OrderState,
        kind: str | None = None,
        body: Json | None = None,
        **fields: Any,
    ) -> OrderRecord:
        updated = replace(order, state=state, updated_us=self.clock(), **fields)
        self.store.update_order(updated, kind, body)
        self._remember(updated)
        return updated

    def _remember(self, order: OrderRecord) -> None:
        if order.broker_order_id:
            self._by_broker[order.broker_order_id] = order.client_id
        if order.open:
            self._orders[order.client_id] = order
        else:
            self._orders.pop(order.client_id, None)

    def _emit_state(self, order: OrderRecord, event: BrokerEvent) -> None:
        kind = {
            OrderState.ACCEPTED: "accepted",
            OrderState.FILLED: "filled",
            OrderState.PARTIALLY_FILLED: "filled",
            OrderState.REJECTED: "rejected",
            OrderState.CANCELLED: "cancelled",
        }.get(order.state)
        if kind is not None:
            self._emit(kind, order, event.reason)

    def _emit(self, kind: str, order: OrderRecord, detail: str = "") -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(OmsEvent(kind, order, detail))
        except Exception:  # a listener's bug must not lose the order's state
            log.exception("OMS event listener failed on %s %s", kind, order.client_id)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
