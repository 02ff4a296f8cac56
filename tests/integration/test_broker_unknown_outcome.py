"""Defect 9: after a 5xx (or a lost answer) the adapter must not give up early.

The real oandapyV20-based ``OandaBroker`` (and the OMS over it) against the paper venue on
loopback. A 5xx may come from a server that acted, or will act a moment later (the venue's
``status`` fault with ``apply_ms``: the order is applied, at once or ``apply_ms`` after the
5xx was answered). The adapter looks the order up by its client id over its grace window:
found, its result; still absent, ``UnknownOutcome`` (never "not placed"); the OMS records
UNKNOWN and its reconciliation resolves it, closing it as never placed only after its own
grace period. A trade or position close whose answer is lost is settled from the
transactions, or is an ``UnknownOutcome``, never a plain connection error.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import Engine
from venue_support import ACCOUNT, EUR, TOKEN, admin, make_broker, running_venue

from tradewind.broker.errors import BrokerUnavailable, NotFound, UnknownOutcome
from tradewind.broker.limits import Backoff
from tradewind.broker.oanda import OandaBroker
from tradewind.broker.ports import OrderRequest
from tradewind.domain.orders import OrderIntent, OrderState
from tradewind.oms import OmsEvent, OrderManager
from tradewind.storage.oms import SqlOmsStore

ORDERS = "/v3/accounts/*/orders"
TRADE_CLOSE = "/v3/accounts/*/trades/*/close"
POSITION_CLOSE = "/v3/accounts/*/positions/*/close"
GRACE = 1.0  # the adapter's grace window in these tests (seconds)
QUICK = Backoff(base=0.1, cap=0.2, attempts=3)  # lookups for the OMS tests' shorter windows


@pytest.fixture
def venue() -> Iterator[Any]:
    with running_venue(seed=23) as v:
        yield v


@pytest.fixture
def broker(venue: Any) -> Iterator[OandaBroker]:
    admin(venue.base_url, {"clear": True})
    b = make_broker(venue.base_url, "tw-venue-unknown", unknown_grace_s=GRACE)
    b.last_transaction_id(refresh=True)
    yield b
    admin(venue.base_url, {"clear": True})
    b.close()


def arm(venue: Any, *rules: dict[str, Any]) -> list[int]:
    return [r["id"] for r in admin(venue.base_url, {"faults": list(rules)})["added"]]


def fired(venue: Any, rule_id: int) -> int:
    r = requests.get(
        f"{venue.base_url}/admin/faults", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    return next(int(f["fired"]) for f in r.json()["faults"] if f["id"] == rule_id)


def post_counter(venue: Any, path: str = ORDERS, method: str = "POST") -> int:
    """A zero-latency rule: its ``fired`` counts the requests that reached the venue."""
    return arm(venue, {"kind": "latency", "ms": 0, "method": method, "path": path, "count": None})[
        0
    ]


def cid() -> str:
    return f"u-{uuid.uuid4().hex[:16]}"


def creates(broker: OandaBroker, client_id: str) -> list[dict[str, Any]]:
    """The venue's order creates and rejects carrying ``client_id``."""
    return [
        t
        for t in broker.v20_transactions_since("0").transactions
        if (t.get("clientExtensions") or {}).get("id") == client_id
    ]


def wait_for_order(broker: OandaBroker, client_id: str, seconds: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return broker.get_order(client_id=client_id)
        except NotFound:
            assert time.monotonic() < deadline, f"order {client_id} never showed up"
            time.sleep(0.05)


def open_trade(broker: OandaBroker, units: int = 100) -> str:
    result = broker.submit_order(OrderRequest(EUR, units, client_id=cid()))
    assert result.state == "FILLED"
    assert result.trade_opened_id
    return result.trade_opened_id


def closes_of(broker: OandaBroker, since: str, trade_id: str) -> list[dict[str, Any]]:
    return [
        t
        for t in broker.v20_transactions_since(since).transactions
        if t["type"] == "MARKET_ORDER" and (t.get("tradeClose") or {}).get("tradeID") == trade_id
    ]


# ------------------------------------------------------- (a) 5xx after the venue applied


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_after_the_order_was_applied_returns_its_fill(
    broker: OandaBroker, venue: Any, status: int
) -> None:
    posts = post_counter(venue)
    (rule,) = arm(
        venue, {"kind": "status", "status": status, "method": "POST", "path": ORDERS, "apply_ms": 0}
    )
    client_id = cid()
    result = broker.submit_order(OrderRequest(EUR, 100, client_id=client_id))
    assert result.recovered
    assert result.state == "FILLED"
    assert result.fill is not None
    assert fired(venue, rule) == 1
    assert fired(venue, posts) == 1  # never resent
    assert [t["type"] for t in creates(broker, client_id)] == ["MARKET_ORDER"]


def test_5xx_with_the_order_applied_late_is_found_within_the_grace_window(
    broker: OandaBroker, venue: Any
) -> None:
    # the venue answers 503 at once and applies the order 0.6 s later: the first lookups find
    # nothing; the old adapter stopped there and said "not placed"
    posts = post_counter(venue)
    arm(venue, {"kind": "status", "status": 503, "method": "POST", "path": ORDERS, "apply_ms": 600})
    client_id = cid()
    t0 = time.monotonic()
    result = broker.submit_order(OrderRequest(EUR, -100, client_id=client_id))
    assert time.monotonic() - t0 >= 0.6
    assert result.recovered
    assert result.state == "FILLED"
    assert result.fill is not None
    assert fired(venue, posts) == 1
    assert [t["type"] for t in creates(broker, client_id)] == ["MARKET_ORDER"]


def test_5xx_applied_after_the_window_is_unknown_and_the_oms_never_rejects_it(
    venue: Any, db_engine: Engine
) -> None:
    events: list[OmsEvent] = []
    broker = make_broker(
        venue.base_url, "tw-venue-unknown-oms", unknown_grace_s=0.5, resolve_backoff=QUICK
    )
    store = SqlOmsStore(db_engine)
    oms = OrderManager(broker, store, ACCOUNT, on_event=events.append)
    assert oms.reconcile().clean
    before = oms.position(EUR)
    posts = post_counter(venue)
    # applied 1.5 s after the 503: later than the adapter's whole lookup window
    arm(
        venue, {"kind": "status", "status": 503, "method": "POST", "path": ORDERS, "apply_ms": 1500}
    )
    t0 = time.monotonic()
    order = oms.submit(OrderIntent(EUR, 300))
    assert time.monotonic() - t0 < 1.5  # gave up looking before the venue applied it
    assert order.state == OrderState.UNKNOWN
    assert [e.kind for e in events] == ["unknown"]
    # within the OMS's grace period an absent order may still be in flight: left UNKNOWN
    report = oms.reconcile()
    assert report.clean, report.summary()  # waited for, not a mismatch
    assert len(report.waiting) == 1
    assert oms.order(order.client_id).state == OrderState.UNKNOWN
    wait_for_order(broker, order.client_id)  # the venue applies it late
    report = oms.reconcile()
    assert report.clean, report.summary()
    assert oms.order(order.client_id).state == OrderState.FILLED
    assert oms.position(EUR) == before + 300
    assert "rejected" not in [e.kind for e in events]
    assert all(o.state != OrderState.REJECTED for o in store.orders(ACCOUNT))
    assert fired(venue, posts) == 1
    assert [t["type"] for t in creates(broker, order.client_id)] == ["MARKET_ORDER"]
    admin(venue.base_url, {"clear": True})
    broker.close()


# ------------------------------------------------------- (b) 5xx before the venue applied


def test_5xx_before_the_order_was_applied_is_unknown_not_a_reject(
    broker: OandaBroker, venue: Any
) -> None:
    posts = post_counter(venue)
    lookups = post_counter(venue, "/v3/accounts/*/orders/@*", "GET")
    arm(venue, {"kind": "status", "status": 500, "method": "POST", "path": ORDERS})
    client_id = cid()
    t0 = time.monotonic()
    with pytest.raises(UnknownOutcome) as err:
        broker.submit_order(OrderRequest(EUR, 100, client_id=client_id))
    assert time.monotonic() - t0 >= GRACE  # looked for the whole grace window
    assert err.value.client_id == client_id
    assert err.value.since_id is not None
    assert "not placed" not in str(err.value)
    assert fired(venue, lookups) >= broker.options.resolve_backoff.attempts
    assert fired(venue, posts) == 1
    assert creates(broker, client_id) == []


def test_5xx_before_the_order_was_applied_is_closed_as_never_placed_after_the_oms_grace(
    venue: Any, db_engine: Engine
) -> None:
    events: list[OmsEvent] = []
    broker = make_broker(
        venue.base_url, "tw-venue-unknown-oms", unknown_grace_s=0.3, resolve_backoff=QUICK
    )
    oms = OrderManager(broker, SqlOmsStore(db_engine), ACCOUNT, on_event=events.append)
    assert oms.reconcile().clean
    before = oms.position(EUR)
    posts = post_counter(venue)
    arm(venue, {"kind": "status", "status": 503, "method": "POST", "path": ORDERS})
    order = oms.submit(OrderIntent(EUR, 100))
    assert order.state == OrderState.UNKNOWN  # not REJECTED: the 5xx proves nothing
    assert [e.kind for e in events] == ["unknown"]
    report = oms.reconcile()  # default grace (60 s): it may still be in flight
    assert report.clean, report.summary()  # waited for, never a reason to halt
    assert any("may still arrive" in w for w in report.waiting)
    assert oms.order(order.client_id).state == OrderState.UNKNOWN
    time.sleep(0.2)
    report = oms.reconcile(grace_us=100_000)  # past the grace period: never placed
    assert report.clean, report.summary()
    assert order.client_id in report.resolved
    closed = oms.order(order.client_id)
    assert closed.state == OrderState.CANCELLED
    assert "never placed" in (closed.reject_reason or "")
    assert oms.position(EUR) == before
    assert fired(venue, posts) == 1  # never resent
    assert creates(broker, order.client_id) == []
    broker.close()


def test_refusals_before_acting_stay_plain(broker: OandaBroker, venue: Any) -> None:
    # a 4xx (here: an unknown trade) is answered before acting: no lookups, no waiting
    t0 = time.monotonic()
    with pytest.raises(NotFound):
        broker.close_trade("999999")
    assert time.monotonic() - t0 < GRACE


# ------------------------------------------------------- (c) a close whose answer is lost


def test_lost_trade_close_answer_is_settled_from_the_transactions(
    broker: OandaBroker, venue: Any
) -> None:
    trade_id = open_trade(broker)
    since = broker.last_transaction_id(refresh=True)
    closes = post_counter(venue, TRADE_CLOSE, "PUT")
    (rule,) = arm(venue, {"kind": "lose_response", "method": "PUT", "path": TRADE_CLOSE})
    resp = broker.close_trade(trade_id)
    assert fired(venue, rule) == 1
    fill = resp["orderFillTransaction"]
    assert fill["type"] == "ORDER_FILL"
    assert [c["tradeID"] for c in fill["tradesClosed"]] == [trade_id]
    assert resp["orderCreateTransaction"]["tradeClose"]["tradeID"] == trade_id
    assert fill["id"] in resp["relatedTransactionIDs"]
    assert fired(venue, closes) == 1  # never resent
    assert len(closes_of(broker, since, trade_id)) == 1
    assert trade_id not in {t["id"] for t in broker.list_trades()}


def test_trade_close_applied_late_after_a_5xx_is_found(broker: OandaBroker, venue: Any) -> None:
    trade_id = open_trade(broker, -200)
    since = broker.last_transaction_id(refresh=True)
    arm(
        venue,
        {"kind": "status", "status": 502, "method": "PUT", "path": TRADE_CLOSE, "apply_ms": 400},
    )
    resp = broker.close_trade(trade_id, units=50)
    assert resp["orderFillTransaction"]["tradeReduced"]["tradeID"] == trade_id
    assert len(closes_of(broker, since, trade_id)) == 1


def test_trade_close_with_no_answer_and_nothing_done_is_unknown(
    broker: OandaBroker, venue: Any
) -> None:
    trade_id = open_trade(broker)
    arm(venue, {"kind": "status", "status": 503, "method": "PUT", "path": TRADE_CLOSE})
    with pytest.raises(UnknownOutcome) as err:
        broker.close_trade(trade_id)
    assert not isinstance(err.value, BrokerUnavailable)  # not "nothing happened"
    assert err.value.client_id is None
    assert err.value.since_id is not None
    assert f"close trade {trade_id}" in str(err.value)
    assert trade_id in {t["id"] for t in broker.list_trades()}  # indeed not closed
    admin(venue.base_url, {"clear": True})
    broker.close_trade(trade_id)


def test_lost_position_close_answer_is_settled_from_the_transactions(
    broker: OandaBroker, venue: Any
) -> None:
    open_trade(broker, 100)
    open_trade(broker, 50)
    (rule,) = arm(venue, {"kind": "lose_response", "method": "PUT", "path": POSITION_CLOSE})
    resp = broker.close_position(EUR, long_units="ALL")
    assert fired(venue, rule) == 1
    assert resp["longOrderCreateTransaction"]["longPositionCloseout"]["instrument"] == EUR
    assert resp["longOrderFillTransaction"]["type"] == "ORDER_FILL"
    longs = [p for p in broker.v20_list_positions() if p["instrument"] == EUR]
    assert all(float(p["long"]["units"]) == 0 for p in longs)
