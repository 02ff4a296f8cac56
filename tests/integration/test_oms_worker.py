"""The order worker on both backends: the price thread's ``submit`` makes the order in memory
only (no database statement), the worker's thread commits it before the broker sees it, and an
order that cannot be stored is never sent and ends closed (issue 18: the order call and its
commit off the price thread)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from tradewind.broker.ports import OrderRequest, OrderResult
from tradewind.domain.orders import OrderIntent, OrderState
from tradewind.oms import OmsEvent, OrderManager
from tradewind.oms.worker import OrderWorker
from tradewind.storage.engine import make_engine
from tradewind.storage.oms import SqlOmsStore
from tradewind.testing.filling_broker import FillingBroker

ACCOUNT = "101-001-0000001-001"
EUR = "EUR_USD"


class StoreCheckingBroker(FillingBroker):
    """Fills every order at once, in memory, noting whether the order was already committed
    when it arrived (what a crash right after the send would leave for reconciliation)."""

    def __init__(self, store: SqlOmsStore) -> None:
        super().__init__()
        self.store = store
        self.seen: dict[str, bool] = {}  # client id -> stored before the broker saw it

    def submit_order(self, order: OrderRequest) -> OrderResult:
        self.seen[order.client_id] = self.store.order(order.client_id) is not None
        return super().submit_order(order)


@pytest.fixture
def store(db_engine: Engine) -> SqlOmsStore:
    return SqlOmsStore(db_engine)


@pytest.fixture
def dead_engine(db_url: str, tmp_path: Any) -> Iterator[Engine]:
    """An engine of the same backend whose database cannot be reached."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path}/missing/dir/x.db"
        engine = make_engine(url)
        (tmp_path / "missing" / "dir").rmdir()  # make_engine made it: now it cannot open
    else:
        engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    yield engine
    engine.dispose()


def _statements_on_this_thread(engine: Engine) -> tuple[list[str], Any]:
    me, seen = threading.get_ident(), []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == me:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    return seen, count


def test_the_price_threads_submit_writes_nothing_the_worker_stores_then_sends(
    db_engine: Engine, store: SqlOmsStore
) -> None:
    broker = StoreCheckingBroker(store)
    oms = OrderManager(broker, store, ACCOUNT)  # type: ignore[arg-type]
    worker = OrderWorker(oms)
    seen, count = _statements_on_this_thread(db_engine)
    try:
        order = worker.submit(OrderIntent(EUR, 1000, deployment="d1", reason="test"))
    finally:
        event.remove(db_engine, "before_cursor_execute", count)
    assert seen == []  # not one statement on the price thread
    # queued, not stored yet: the OMS's memory has it, open and in flight, as before
    assert order.state is OrderState.NEW
    assert oms.order(order.client_id) == order
    assert oms.pending_units(EUR) == 1000
    assert order.client_id in oms.in_flight()
    assert store.order(order.client_id) is None
    worker.start()
    try:
        assert worker.drain(30)
        seen, count = _statements_on_this_thread(db_engine)
        try:
            second = worker.submit(OrderIntent(EUR, -400, deployment="d1"))
        finally:
            event.remove(db_engine, "before_cursor_execute", count)
        assert seen == []  # with the worker running too
        assert worker.drain(30)
    finally:
        worker.stop()
    assert broker.seen == {order.client_id: True, second.client_id: True}  # stored first
    for cid in (order.client_id, second.client_id):
        stored = store.order(cid)
        assert stored is not None
        assert stored.state is OrderState.FILLED
        assert oms.order(cid).state is OrderState.FILLED
    commands = [r for r in store.audit_log(ACCOUNT) if r["kind"] == "command"]
    assert [r["client_id"] for r in commands] == [order.client_id, second.client_id]
    assert commands[0]["body"]["submit"]["units"] == "1000"
    assert oms.in_flight() == frozenset()
    assert oms.position(EUR) == 600
    assert worker.sent == 2
    assert worker.errors == 0


def test_an_order_that_cannot_be_stored_is_not_sent_and_ends_rejected(
    db_engine: Engine, store: SqlOmsStore, dead_engine: Engine
) -> None:
    events: list[OmsEvent] = []
    broker = StoreCheckingBroker(store)
    oms = OrderManager(broker, store, ACCOUNT, on_event=events.append)  # type: ignore[arg-type]
    worker = OrderWorker(oms).start()
    store.engine = dead_engine  # the database goes away
    try:
        order = worker.submit(OrderIntent(EUR, 1000, deployment="d1"))
        assert worker.drain(30)
    finally:
        worker.stop()
    assert broker.seen == {}  # never sent
    closed = oms.order(order.client_id)  # still answered, from memory
    assert closed.state is OrderState.REJECTED
    assert not closed.open
    assert "could not be stored" in (closed.reject_reason or "")
    assert oms.in_flight() == frozenset()
    assert oms.open_orders() == []
    assert oms.pending_units(EUR) == 0
    assert [(e.kind, e.order.client_id) for e in events] == [("error", order.client_id)]
    assert worker.errors == 0  # handled, not a worker failure
    store.engine = db_engine  # the database is back: nothing was stored
    assert store.order(order.client_id) is None
    assert [r for r in store.audit_log(ACCOUNT) if r["kind"] == "command"] == []


def test_the_synchronous_submit_raises_when_it_cannot_store(
    store: SqlOmsStore, dead_engine: Engine, db_engine: Engine
) -> None:
    broker = StoreCheckingBroker(store)
    oms = OrderManager(broker, store, ACCOUNT)  # type: ignore[arg-type]
    store.engine = dead_engine
    with pytest.raises(Exception, match=r"(?i)connect|open database"):
        oms.submit(OrderIntent(EUR, 1000))
    assert broker.seen == {}
    assert oms.in_flight() == frozenset()
    assert oms.open_orders() == []
    store.engine = db_engine
    filled = oms.submit(OrderIntent(EUR, 1000))
    assert filled.state is OrderState.FILLED
    assert broker.seen == {filled.client_id: True}


def test_orders_left_queued_at_stop_are_dropped_in_memory_only(store: SqlOmsStore) -> None:
    events: list[OmsEvent] = []
    broker = StoreCheckingBroker(store)
    oms = OrderManager(broker, store, ACCOUNT, on_event=events.append)  # type: ignore[arg-type]
    worker = OrderWorker(oms)  # never started
    order = worker.submit(OrderIntent(EUR, 1000))
    worker.stop()
    dropped = oms.order(order.client_id)
    assert dropped.state is OrderState.CANCELLED
    assert dropped.reject_reason == "the order worker was not running"
    assert store.order(order.client_id) is None
    assert broker.seen == {}
    assert oms.in_flight() == frozenset()
    assert oms.open_orders() == []
    assert [e.kind for e in events] == ["cancelled"]
    # one already stored (prepared and committed, not sent) is closed in the store too
    stored = oms.prepare(OrderIntent(EUR, 500))
    oms.store_prepared(stored.client_id)
    assert oms.drop_prepared(stored.client_id, "dropped") is not None
    closed = store.order(stored.client_id)
    assert closed is not None
    assert closed.state is OrderState.CANCELLED
    assert oms.in_flight() == frozenset()
