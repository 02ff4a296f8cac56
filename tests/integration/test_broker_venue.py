"""The OANDA adapter (real oandapyV20 client) against the paper venue on loopback: orders and
trades, lost answers resolved by client id with no duplicate, 429/5xx bursts, streams that
drop, tear and stall, and the transaction stream's backfill from sinceid."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from tradewind.broker.environments import register_environment
from tradewind.broker.errors import NotFound, RateLimited, UnknownOutcome
from tradewind.broker.limits import Backoff
from tradewind.broker.oanda import OandaBroker, OandaOptions
from tradewind.broker.ports import OrderRequest
from tradewind.venue import service

TOKEN = "venue-token-" + uuid.uuid4().hex
INSTRUMENT = "EUR_USD"


ACCOUNT = "101-001-0000001-001"  # the venue's default account


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    # a fast clock from a Tuesday noon, so the FX market is open whenever the tests run
    start = int(datetime(2024, 1, 2, 12, tzinfo=UTC).timestamp()) * service.NS
    venue = service.Venue.build(
        token=TOKEN, seed=7, heartbeat_s=0.5, clock="fast", speed=1.0, start_ns=start
    )
    with service.serve_in_thread(venue) as base:
        yield base


@pytest.fixture
def broker(venue_url: str) -> Iterator[OandaBroker]:
    name = "tw-venue-test"
    register_environment(name, venue_url)
    opts = OandaOptions(
        read_timeout=5.0,
        stream_stall=3.0,
        read_backoff=Backoff(base=0.02, cap=0.5, attempts=6),
        stream_backoff=Backoff(base=0.05, cap=0.5, attempts=1000),
        resolve_backoff=Backoff(base=0.05, attempts=4),
        unknown_grace_s=0.5,
    )
    b = OandaBroker(name, token=TOKEN, options=opts, account_id=ACCOUNT)
    yield b
    clear_faults(venue_url)
    b.close()


def faults(base: str, *rules: dict[str, Any]) -> None:
    r = requests.post(
        f"{base}/admin/faults",
        json={"faults": list(rules)},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert r.status_code == 200, r.text


def clear_faults(base: str) -> None:
    requests.post(
        f"{base}/admin/faults",
        json={"clear": True},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )


def cid() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


def with_client_id(broker: OandaBroker, since: str, client_id: str) -> list[dict[str, Any]]:
    page = broker.v20_transactions_since(since)
    return [
        t for t in page.transactions if (t.get("clientExtensions") or {}).get("id") == client_id
    ]


def test_orders_trades_positions_round_trip(broker: OandaBroker) -> None:
    summary = broker.account_summary()
    assert summary.account_id == broker.account_id
    assert any(i["name"] == INSTRUMENT for i in broker.v20_instruments())
    assert broker.instruments()[INSTRUMENT].symbol == INSTRUMENT
    price = broker.pricing([INSTRUMENT])[0]
    bid, ask = price.bid, price.ask

    market = broker.submit_order(OrderRequest(INSTRUMENT, 1000, client_id=cid()))
    assert market.state == "FILLED"
    assert market.trade_opened_id
    assert any(t["id"] == market.trade_opened_id for t in broker.list_trades())

    limit_id = cid()
    limit = broker.submit_order(
        OrderRequest(INSTRUMENT, 1000, type="LIMIT", price=round(bid * 0.9, 5), client_id=limit_id)
    )
    assert limit.state == "PENDING"
    assert broker.get_order(client_id=limit_id)["id"] == limit.order_id
    assert any(o["id"] == limit.order_id for o in broker.v20_list_orders())
    replaced = broker.replace_order(
        limit.order_id,
        OrderRequest(INSTRUMENT, 1000, type="LIMIT", price=round(bid * 0.8, 5), client_id=cid()),
    )
    assert replaced.state == "PENDING"
    assert broker.get_order(limit.order_id)["state"] == "CANCELLED"
    broker.cancel_order(replaced.order_id)
    assert broker.get_order(replaced.order_id)["state"] == "CANCELLED"

    stop = broker.submit_order(
        OrderRequest(INSTRUMENT, -500, type="STOP", price=round(bid * 0.7, 5), client_id=cid())
    )
    assert stop.state == "PENDING"
    broker.cancel_order(client_id=stop.client_id)

    bracket = broker.submit_order(
        OrderRequest(
            INSTRUMENT,
            2000,
            client_id=cid(),
            price_bound=round(ask * 1.01, 5),
            stop_loss=round(bid * 0.95, 5),
            take_profit=round(ask * 1.05, 5),
        )
    )
    assert bracket.state == "FILLED"
    closed = broker.close_trade(bracket.trade_opened_id or "", units=500)
    assert closed["orderFillTransaction"]["type"] == "ORDER_FILL"
    broker.close_trade(market.trade_opened_id or "")
    assert any(p["instrument"] == INSTRUMENT for p in broker.v20_list_positions())
    broker.close_position(INSTRUMENT)
    assert not [p for p in broker.v20_list_positions() if p["instrument"] == INSTRUMENT]
    with pytest.raises(NotFound):
        broker.get_order(client_id="no-such-order")


def test_lost_response_resolved_by_client_id_without_duplicate(
    broker: OandaBroker, venue_url: str
) -> None:
    since = broker.last_transaction_id(refresh=True)
    trades_before = len(broker.list_trades())
    faults(venue_url, {"kind": "lose_response", "method": "POST", "path": "/v3/accounts/*/orders"})
    client_id = cid()
    result = broker.submit_order(OrderRequest(INSTRUMENT, 100, client_id=client_id))
    assert result.recovered
    assert result.state == "FILLED"
    assert result.fill is not None
    creates = [t for t in with_client_id(broker, since, client_id) if t["type"] == "MARKET_ORDER"]
    assert len(creates) == 1  # placed once, never resent
    assert len(broker.list_trades()) == trades_before + 1
    # a pending order's lost answer too
    since = broker.last_transaction_id(refresh=True)
    faults(venue_url, {"kind": "lose_response", "method": "POST", "path": "/v3/accounts/*/orders"})
    bid = broker.pricing([INSTRUMENT])[0].bid
    lim = broker.submit_order(
        OrderRequest(INSTRUMENT, 100, type="LIMIT", price=round(bid * 0.9, 5), client_id=cid())
    )
    assert lim.recovered
    assert lim.state == "PENDING"
    assert len(with_client_id(broker, since, lim.client_id)) == 1
    broker.cancel_order(lim.order_id)


def test_read_bursts_are_retried(broker: OandaBroker, venue_url: str) -> None:
    faults(
        venue_url,
        {"kind": "status", "status": 429, "method": "GET", "path": "/v3/instruments/*", "count": 3},
    )
    assert broker.candles(INSTRUMENT, "M1", count=5)
    faults(
        venue_url,
        {
            "kind": "status",
            "status": 503,
            "method": "GET",
            "path": "/v3/accounts/*/pricing",
            "count": 2,
        },
        {"kind": "status", "status": 500, "method": "GET", "path": "/v3/instruments/*", "count": 2},
    )
    assert broker.pricing([INSTRUMENT])
    assert broker.candles(INSTRUMENT, "M1", count=5)


def test_account_read_bursts_are_retried(broker: OandaBroker, venue_url: str) -> None:
    broker.account_summary()
    faults(
        venue_url,
        {
            "kind": "status",
            "status": 429,
            "method": "GET",
            "path": "/v3/accounts/*/summary",
            "count": 3,
        },
    )
    assert broker.v20_account_summary()["id"] == broker.account_id
    faults(
        venue_url,
        {
            "kind": "status",
            "status": 503,
            "method": "GET",
            "path": "/v3/accounts/*/trades",
            "count": 2,
        },
        {"kind": "status", "status": 500, "method": "GET", "path": "/v3/instruments/*", "count": 2},
    )
    broker.list_trades()
    assert broker.candles(INSTRUMENT, "M1", count=5)


def test_order_submit_bursts_surface_without_resend(broker: OandaBroker, venue_url: str) -> None:
    since = broker.last_transaction_id(refresh=True)
    faults(
        venue_url,
        {"kind": "status", "status": 429, "method": "POST", "path": "/v3/accounts/*/orders"},
    )
    first = cid()
    with pytest.raises(RateLimited):
        broker.submit_order(OrderRequest(INSTRUMENT, 100, client_id=first))
    faults(
        venue_url,
        {"kind": "status", "status": 503, "method": "POST", "path": "/v3/accounts/*/orders"},
    )
    second = cid()
    # a 5xx leaves the outcome open: looked up over the grace window, then unknown (never
    # "not placed")
    with pytest.raises(UnknownOutcome) as unknown:
        broker.submit_order(OrderRequest(INSTRUMENT, 100, client_id=second))
    assert unknown.value.client_id == second
    for c in (first, second):
        with pytest.raises(NotFound):
            broker.get_order(client_id=c)
        assert with_client_id(broker, since, c) == []


def _take(it: Iterator[dict[str, Any]], n: int, seconds: float) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    for msg in it:
        out.append(msg)
        if len(out) >= n or time.monotonic() > deadline:
            break
    return out


@pytest.mark.parametrize("kind", ["stream_drop", "torn_line"])
def test_price_stream_reconnects(
    broker: OandaBroker, venue_url: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tradewind.broker.oanda")
    faults(
        venue_url,
        {"kind": kind, "path": "/v3/accounts/*/pricing/stream", "after_lines": 2, "count": 1},
    )
    stream = broker.v20_price_stream([INSTRUMENT], heartbeats=True, max_failures=5)
    got = _take(stream, 8, 20.0)
    stream.close()  # type: ignore[attr-defined]
    assert len(got) >= 8
    assert any("reconnecting" in r.getMessage() for r in caplog.records)


def test_transaction_stream_backfills_from_sinceid(broker: OandaBroker, venue_url: str) -> None:
    start = broker.last_transaction_id(refresh=True)
    seen: list[dict[str, Any]] = []
    stream = broker.v20_transaction_stream(start, max_failures=10)
    done = threading.Event()

    errors: list[BaseException] = []

    def consume() -> None:
        try:
            _consume()
        except BaseException as exc:
            errors.append(exc)

    def _consume() -> None:
        for tx in stream:
            seen.append(tx)
            if done.is_set() and int(tx["id"]) >= target[0]:
                break

    target = [10**12]
    for _ in range(2):  # placed before the stream connects: backfilled
        broker.submit_order(OrderRequest(INSTRUMENT, 10, client_id=cid()))
    t = threading.Thread(target=consume, daemon=True)
    t.start()
    time.sleep(0.5)
    faults(
        venue_url, {"kind": "stream_drop", "path": "/v3/accounts/*/transactions/stream", "count": 1}
    )
    for _ in range(3):
        broker.submit_order(OrderRequest(INSTRUMENT, -10, client_id=cid()))
    target[0] = int(broker.last_transaction_id(refresh=True))
    done.set()
    broker.submit_order(OrderRequest(INSTRUMENT, 10, client_id=cid()))  # wakes the stream
    t.join(60)
    assert not errors, errors
    ids = [int(x["id"]) for x in seen]
    assert ids, "no transactions streamed"
    assert ids == list(range(int(start) + 1, int(start) + 1 + len(ids)))  # none missed, none twice
    assert ids[-1] >= target[0]
