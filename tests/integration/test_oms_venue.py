"""The OMS against the paper venue with the real oandapyV20 client: the order state machine,
positions and P&L from fills, the append-only audit log, lost answers resolved by client id,
429/5xx on submit, restart and reconciliation (backfill, unsent orders, foreign orders)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from venue_support import ACCOUNT, EUR, admin, make_broker, running_venue

from tradewind.broker.ports import OrderRequest
from tradewind.domain.broker import BrokerEvent, Heartbeat, OrderAccepted
from tradewind.domain.orders import OrderIntent, OrderRecord, OrderState
from tradewind.oms import OmsEvent, OrderManager
from tradewind.oms.worker import OrderWorker
from tradewind.storage.oms import SqlOmsStore

ORDERS = "/v3/accounts/*/orders"


@pytest.fixture
def venue() -> Iterator[object]:
    with running_venue() as v:
        yield v


@pytest.fixture
def store(db_engine: sa.Engine) -> SqlOmsStore:
    return SqlOmsStore(db_engine)


def manager(venue: object, store: SqlOmsStore, events: list[OmsEvent] | None = None):
    broker = make_broker(venue.base_url)  # type: ignore[attr-defined]
    oms = OrderManager(
        broker, store, ACCOUNT, on_event=events.append if events is not None else None
    )
    report = oms.reconcile()
    assert report.clean, report.summary()
    return oms


def test_market_order_fills_and_moves_the_position(venue, store) -> None:
    events: list[OmsEvent] = []
    oms = manager(venue, store, events)
    order = oms.submit(OrderIntent(EUR, 1000, deployment="d1", reason="test"))
    assert order.state == OrderState.FILLED
    assert len(order.client_id) == 26  # a ULID
    assert order.filled_units == 1000
    assert order.avg_price
    assert order.broker_order_id
    assert oms.position(EUR) == 1000
    assert [e.kind for e in events] == ["accepted", "filled"]
    sell = oms.submit(OrderIntent(EUR, -400))
    assert sell.state == OrderState.FILLED
    assert oms.position(EUR) == 600
    pos = oms.position_record(EUR)
    assert pos is not None
    assert pos.avg_price == pytest.approx(order.avg_price)
    assert store.positions(ACCOUNT)[EUR].units == 600  # durable
    fills = store.fills(ACCOUNT)
    assert [f.units for f in fills] == [1000, -400]
    assert fills[0].client_id == order.client_id
    assert fills[0].deployment == "d1"
    # the broker's own realised P&L is what the books hold
    assert pos.realized_pl == pytest.approx(sum(f.pl for f in fills))
    assert oms.reconcile().clean


def test_pending_limit_then_cancel(venue, store) -> None:
    oms = manager(venue, store)
    mid = oms.broker.pricing([EUR])[0].bid
    order = oms.submit(
        OrderIntent(EUR, 500, type="LIMIT", price=round(mid * 0.98, 5), time_in_force="GTC")
    )
    assert order.state == OrderState.ACCEPTED
    assert order.open
    assert oms.pending_units(EUR) == 500
    assert oms.reconcile().clean
    cancelled = oms.cancel(order.client_id)
    assert cancelled.state == OrderState.CANCELLED
    assert cancelled.reject_reason == "CLIENT_REQUEST"
    assert oms.open_orders() == []
    assert oms.pending_units(EUR) == 0


def test_reject_is_recorded_with_the_brokers_reason(venue, store) -> None:
    events: list[OmsEvent] = []
    oms = manager(venue, store, events)
    mid = oms.broker.pricing([EUR])[0].bid
    # a price bound far below the ask: the venue cancels (FOK) or rejects; never fills
    order = oms.submit(OrderIntent(EUR, 100, type="LIMIT", price=-1.0, time_in_force="GTC"))
    assert order.state == OrderState.REJECTED
    assert order.reject_reason
    assert events[-1].kind == "rejected"
    assert oms.position(EUR) == 0
    bound = oms.submit(OrderIntent(EUR, 100, price_bound=round(mid * 0.9, 5)))
    assert bound.state == OrderState.CANCELLED
    assert bound.reject_reason == "BOUNDS_VIOLATION"
    assert oms.reconcile().clean


def test_audit_log_is_append_only_and_complete(venue, store) -> None:
    oms = manager(venue, store)
    order = oms.submit(OrderIntent(EUR, 100))
    log = store.audit_log(ACCOUNT)
    kinds = [r["kind"] for r in log if r["client_id"] == order.client_id]
    assert kinds[0] == "command"
    assert "response" in kinds
    assert "transaction" in kinds
    txs = [r for r in log if r["kind"] == "transaction"]
    assert len({r["transaction_id"] for r in txs}) == len(txs)  # each once
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM oms_audit"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE oms_audit SET kind = 'x'"))


def test_stream_and_answer_apply_each_transaction_once(venue, store) -> None:
    oms = manager(venue, store)
    seen: list[BrokerEvent] = []
    stop = threading.Event()

    def pump() -> None:
        # heartbeats (every 0.5 s here) let the thread see ``stop`` and end with the test
        stream = oms.broker.transaction_stream(str(oms.last_transaction_id), heartbeats=True)
        for tx in stream:
            if stop.is_set():
                return
            if isinstance(tx, Heartbeat):
                continue
            seen.append(tx)
            oms.apply_transaction(tx)
            oms.advance(tx.transaction_id)

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    for units in (300, -100, 200):
        oms.submit(OrderIntent(EUR, units))
    deadline = time.monotonic() + 10
    while (oms.last_transaction_id or 0) < int(oms.broker.last_transaction_id(True)):
        assert time.monotonic() < deadline, "stream did not catch up"
        time.sleep(0.05)
    stop.set()
    t.join(timeout=5)
    assert not t.is_alive(), "the stream thread did not end"
    assert oms.position(EUR) == 400
    assert [f.units for f in store.fills(ACCOUNT)] == [300, -100, 200]
    assert oms.reconcile().clean


def test_lost_answer_becomes_unknown_then_resolved_without_resend(venue, store) -> None:
    oms = manager(venue, store)
    # the answer is lost after the venue applied the order, and the lookups fail too
    admin(
        venue.base_url,  # type: ignore[attr-defined]
        {
            "faults": [
                {"kind": "lose_response", "method": "POST", "path": ORDERS, "count": 1},
                {
                    "kind": "status",
                    "status": 503,
                    "method": "GET",
                    "path": "/v3/accounts/*/orders/*",
                    "count": 50,
                },
                {
                    "kind": "status",
                    "status": 503,
                    "method": "GET",
                    "path": "/v3/accounts/*/transactions*",
                    "count": 50,
                },
            ]
        },
    )
    order = oms.submit(OrderIntent(EUR, 700))
    assert order.state == OrderState.UNKNOWN
    admin(venue.base_url, {"clear": True})  # type: ignore[attr-defined]
    report = oms.reconcile()
    assert report.clean, report.summary()
    resolved = oms.order(order.client_id)
    assert resolved.state == OrderState.FILLED
    assert oms.position(EUR) == 700
    # exactly one order with that client id reached the venue
    created = [
        t
        for t in oms.broker.transactions_since("0").transactions
        if isinstance(t, OrderAccepted)
        and t.client_id == order.client_id
        and t.order_type == "MARKET"
    ]
    assert len(created) == 1


@pytest.mark.parametrize("status", [429, 500, 503])
def test_submit_refused_by_a_burst_is_not_resent(venue, store, status: int) -> None:
    events: list[OmsEvent] = []
    oms = manager(venue, store, events)
    admin(
        venue.base_url,  # type: ignore[attr-defined]
        {"faults": [{"kind": "status", "status": status, "method": "POST", "path": ORDERS}]},
    )
    order = oms.submit(OrderIntent(EUR, 100))
    admin(venue.base_url, {"clear": True})  # type: ignore[attr-defined]
    if status == 429:  # answered before acting: refused
        assert order.state == OrderState.REJECTED
    else:  # a 5xx may have been applied: UNKNOWN; ask, don't resend
        assert order.state == OrderState.UNKNOWN
        assert events[-1].kind == "unknown"
        report = oms.reconcile()  # within the grace period it may still arrive: waited for
        assert report.clean, report.summary()  # waiting is not a mismatch (no halt)
        assert [order.client_id in w for w in report.waiting] == [True]
        assert oms.order(order.client_id).state == OrderState.UNKNOWN
        report = oms.reconcile(grace_us=0)  # past it: absent, so never placed
        assert report.clean, report.summary()
        order = oms.order(order.client_id)
        assert order.state == OrderState.CANCELLED
    assert oms.position(EUR) == 0
    assert events[-1].kind in ("error", "cancelled", "rejected")
    assert oms.reconcile().clean


def test_restart_backfills_what_happened_while_down(venue, store) -> None:
    oms = manager(venue, store)
    oms.submit(OrderIntent(EUR, 100))
    # while "down": a fill the books never saw (placed on the account by someone else)
    lost = oms.broker.submit_order(OrderRequest(EUR, 250))
    restarted = OrderManager(make_broker(venue.base_url), store, ACCOUNT)  # type: ignore[attr-defined]
    report = restarted.reconcile()
    assert report.backfilled >= 2
    assert restarted.position(EUR) == 350  # the foreign fill moved the position
    assert report.clean, report.summary()
    assert lost.state == "FILLED"


def test_unsent_order_is_closed_not_sent(venue, store) -> None:
    oms = manager(venue, store)
    # an order recorded but never sent: as if the process died between the commit and the send
    now = oms.clock()
    ghost = OrderRecord(
        "01J0000000000000000000GHST", ACCOUNT, EUR, 100, "MARKET", OrderState.NEW, now, now
    )
    store.insert_order(ghost, {"submit": {}})
    restarted = OrderManager(make_broker(venue.base_url), store, ACCOUNT)  # type: ignore[attr-defined]
    report = restarted.reconcile()
    assert report.clean
    assert ghost.client_id in report.resolved
    assert restarted.order(ghost.client_id).state == OrderState.CANCELLED
    assert restarted.position(EUR) == 0


def test_foreign_pending_order_makes_reconciliation_unclean(venue, store) -> None:
    oms = manager(venue, store)
    mid = oms.broker.pricing([EUR])[0].bid
    oms.broker.submit_order(
        OrderRequest(EUR, 100, type="LIMIT", price=round(mid * 0.9, 5), time_in_force="GTC")
    )
    report = oms.reconcile()
    assert not report.clean
    assert "not ours" in report.summary()
    status = store.reconcile_status(ACCOUNT)
    assert status is not None
    assert status[0] == "failed"


class SlowBroker:
    """The real broker, one of whose calls waits until ``release`` is set: a broker that is
    slow to answer a reconciliation."""

    def __init__(self, broker: object, method: str) -> None:
        self._broker, self._method = broker, method
        self.entered, self.release = threading.Event(), threading.Event()

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._broker, name)
        if name != self._method:
            return attr

        def slow(*args: object, **kwargs: object) -> object:
            self.entered.set()
            assert self.release.wait(60), "never released"
            return attr(*args, **kwargs)

        return slow


@pytest.mark.parametrize("method", ["transactions_since", "list_orders", "list_positions"])
def test_a_reconciliation_waiting_on_the_broker_never_holds_back_a_new_order(
    venue, store, method: str
) -> None:
    """Reconciliation holds the OMS's lock while it asks the broker (backfill, the pending
    orders, the positions); an order made meanwhile (the price thread's ``submit``: in
    memory, queued) does not wait for it, counts as in flight (not a difference), and is
    sent once the reconciliation is done."""
    oms = manager(venue, store)
    slow = SlowBroker(oms.broker, method)
    oms.broker = slow  # type: ignore[assignment]
    worker = OrderWorker(oms).start()
    reports: list[object] = []
    reconciling = threading.Thread(target=lambda: reports.append(oms.reconcile()))
    made: list[OrderRecord] = []
    submitted = threading.Event()

    def price_thread() -> None:
        made.append(worker.submit(OrderIntent(EUR, 1000, deployment="d1")))
        submitted.set()

    reconciling.start()
    try:
        assert slow.entered.wait(30)
        threading.Thread(target=price_thread).start()
        assert submitted.wait(10), "the order waited for the reconciliation"
        assert reconciling.is_alive()  # still waiting on the broker
        (order,) = made
        assert order.state is OrderState.NEW
        assert order.client_id in oms.in_flight()
    finally:
        slow.release.set()
        reconciling.join(60)
    (report,) = reports
    assert report.clean, report.summary()  # type: ignore[attr-defined]
    assert worker.drain(30)
    worker.stop()
    assert oms.order(order.client_id).state is OrderState.FILLED
    assert oms.position(EUR) == 1000
    assert oms.reconcile().clean
