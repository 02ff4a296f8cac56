"""Issue 5's fault matrix: the real oandapyV20-based ``OandaBroker`` against the paper venue on
loopback, one test per venue fault, each checking what the adapter does AND that no order is
ever duplicated (the venue's own count of ORDER transactions per client id, and of the order
POSTs that reached it).

Conformance: every response the adapter receives goes through ``V20Spec().requests_hook``
(the hook sits on the adapter's one pooled session, so retries and client-id lookups are
checked too), and every stream message it yields through ``validate_stream_line``. The 429/5xx
bodies the venue *injects* are outside OANDA's description by design (v20 lists no 429/5xx);
the hook skips exactly those: a status a test armed as a ``status`` fault, with the injected
``{"errorMessage"}``-only body. Any other response, a 5xx the venue produced itself included,
is validated, and a failure fails the test even when the adapter swallowed the exception (as
it does for lookups while resolving a lost answer).
"""

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
from tradewind.testing.openapi import V20Spec
from tradewind.venue import service

TOKEN = "venue-token-" + uuid.uuid4().hex
EUR, JPY = "EUR_USD", "USD_JPY"
ACCOUNT = "101-001-0000001-001"  # the venue's default account
ORDERS = "/v3/accounts/*/orders"
PRICE_STREAM = "/v3/accounts/*/pricing/stream"
TX_STREAM = "/v3/accounts/*/transactions/stream"
SPEC = V20Spec()
# a fast clock from a Tuesday noon (the FX market is open); 50x, so the walk's 5 s step is a
# tick every 0.1 s per instrument
START = int(datetime(2024, 1, 2, 12, tzinfo=UTC).timestamp()) * service.NS
SPEED = 50.0
READ_TIMEOUT = 1.0
STALL = 1.5


class SpecHook:
    """``V20Spec.requests_hook`` that skips the injected 429/5xx a test armed, and records
    every problem (so one swallowed by the adapter still fails the test)."""

    def __init__(self) -> None:
        self.injected: set[int] = set()
        self.checked = 0
        self.skipped = 0
        self.problems: list[str] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> Any:
        if "stream" in response.url.rsplit("?", 1)[0].rsplit("/", 1)[-1]:
            return response  # stream lines are checked one by one where they are read
        if response.status_code in self.injected:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and set(body) == {"errorMessage"}:
                self.skipped += 1
                return response
        try:
            SPEC.requests_hook(response)
        except AssertionError as exc:
            self.problems.append(str(exc))
            raise
        self.checked += 1
        return response


@pytest.fixture(scope="module")
def venue() -> Iterator[service.Venue]:
    v = service.Venue.build(
        token=TOKEN, seed=11, heartbeat_s=0.5, clock="fast", speed=SPEED, start_ns=START
    )
    with service.serve_in_thread(v) as base:
        v.base_url = base  # type: ignore[attr-defined]
        yield v


def options(**kw: Any) -> OandaOptions:
    base: dict[str, Any] = {
        "read_timeout": READ_TIMEOUT,
        "stream_stall": STALL,
        "connections_per_second": 20.0,  # lost answers and reconnects cost a connection each
        "connection_burst": 4,
        "read_backoff": Backoff(base=0.02, cap=0.2, attempts=5),
        "stream_backoff": Backoff(base=0.05, cap=0.3, attempts=1000),
        # lookups after a lost answer: ~1.25 s at least, > the latency test's 0.6 s overhang
        "resolve_backoff": Backoff(base=0.1, cap=1.0, attempts=6),
        "unknown_grace_s": 1.0,  # a 5xx or lost answer: lookups for >= 1 s, then UNKNOWN
    }
    return OandaOptions(**{**base, **kw})


def make_broker(base_url: str, name: str, hook: SpecHook, **kw: Any) -> OandaBroker:
    register_environment(name, base_url)
    b = OandaBroker(name, token=TOKEN, options=options(**kw), account_id=ACCOUNT)
    b._session.hooks["response"].append(hook)
    return b


@pytest.fixture
def hook() -> Iterator[SpecHook]:
    h = SpecHook()
    yield h
    assert not h.problems, "responses outside the v20 description:\n" + "\n".join(h.problems)


@pytest.fixture
def broker(venue: service.Venue, hook: SpecHook) -> Iterator[OandaBroker]:
    admin(venue, {"clear": True})
    b = make_broker(venue.base_url, "tw-venue-faults", hook)  # type: ignore[attr-defined]
    b.account_summary()
    assert hook.checked == 1  # the hook sees the adapter's responses
    yield b
    admin(venue, {"clear": True})
    b.close()


# ------------------------------------------------------------------------------ helpers


def admin(venue: service.Venue, body: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(
        f"{venue.base_url}/admin/faults",  # type: ignore[attr-defined]
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def arm(venue: service.Venue, hook: SpecHook | None, *rules: dict[str, Any]) -> list[int]:
    """Switch faults on through ``POST /admin/faults``; returns their ids. The statuses of
    ``status`` faults become the hook's expected injected answers."""
    if hook is not None:
        hook.injected |= {int(r.get("status", 503)) for r in rules if r["kind"] == "status"}
    return [r["id"] for r in admin(venue, {"faults": list(rules)})["added"]]


def fired(venue: service.Venue, rule_id: int) -> int:
    r = requests.get(
        f"{venue.base_url}/admin/faults",  # type: ignore[attr-defined]
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    return next(int(f["fired"]) for f in r.json()["faults"] if f["id"] == rule_id)


def post_counter(venue: service.Venue) -> int:
    """A zero-latency rule on order POSTs: its ``fired`` counts the POSTs that reached the
    venue (a resend would show up here even if the venue refused it)."""
    return arm(
        venue, None, {"kind": "latency", "ms": 0, "method": "POST", "path": ORDERS, "count": None}
    )[0]


def cid() -> str:
    return f"f-{uuid.uuid4().hex[:16]}"


def order_txns(broker: OandaBroker, client_id: str) -> dict[str, list[dict[str, Any]]]:
    """The venue's ORDER transactions for ``client_id``: creates, rejects, fills, cancels."""
    txs = broker.v20_transactions_since("0").transactions
    mine = [t for t in txs if (t.get("clientExtensions") or {}).get("id") == client_id]
    creates = [t for t in mine if t["type"].endswith("_ORDER")]
    ids = {t["id"] for t in creates}
    return {
        "creates": creates,
        "rejects": [t for t in mine if t["type"].endswith("_REJECT")],
        "fills": [t for t in txs if t["type"] == "ORDER_FILL" and t.get("orderID") in ids],
        "cancels": [t for t in txs if t["type"] == "ORDER_CANCEL" and t.get("orderID") in ids],
    }


def assert_one_order(broker: OandaBroker, client_id: str) -> dict[str, list[dict[str, Any]]]:
    found = order_txns(broker, client_id)
    assert len(found["creates"]) == 1, found
    assert found["rejects"] == [], found  # a resend would be refused: CLIENT_ORDER_ID taken
    assert len(found["fills"]) + len(found["cancels"]) <= 1
    return found


def assert_no_order(broker: OandaBroker, client_id: str) -> None:
    with pytest.raises(NotFound):
        broker.get_order(client_id=client_id)
    assert order_txns(broker, client_id) == {
        "creates": [],
        "rejects": [],
        "fills": [],
        "cancels": [],
    }


def rfc3339_ns(text: str) -> int:
    head, _, frac = text.rstrip("Z").partition(".")
    secs = int(datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp())
    return secs * service.NS + int(frac.ljust(9, "0")[:9])


def checked(stream: Iterator[dict[str, Any]], path: str) -> Iterator[dict[str, Any]]:
    for msg in stream:
        SPEC.validate_stream_line(path, msg)
        yield msg


def take(
    stream: Iterator[dict[str, Any]], seconds: float, until: Any = None
) -> list[dict[str, Any]]:
    """Messages for ``seconds`` (or until ``until(got)``); the stream must keep delivering."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    for msg in stream:
        got.append(msg)
        if time.monotonic() > deadline or (until is not None and until(got)):
            break
    return got


def prices_of(msgs: list[dict[str, Any]], instrument: str | None = None) -> list[dict[str, Any]]:
    return [m for m in msgs if m["type"] == "PRICE" and instrument in (None, m.get("instrument"))]


def price_stream(broker: OandaBroker, names: list[str], **kw: Any) -> Iterator[dict[str, Any]]:
    path = f"/v3/accounts/{ACCOUNT}/pricing/stream"
    return checked(broker.v20_price_stream(names, max_failures=20, **kw), path)


# ------------------------------------------------------------------ 1. latency


def test_latency_beyond_the_read_timeout_on_submit_is_resolved_by_client_id(
    broker: OandaBroker, venue: service.Venue
) -> None:
    posts = post_counter(venue)
    arm(venue, None, {"kind": "latency", "ms": 1600, "method": "POST", "path": ORDERS})
    client_id = cid()
    t0 = time.monotonic()
    result = broker.submit_order(OrderRequest(EUR, 100, client_id=client_id))
    # the POST timed out after READ_TIMEOUT; the venue applied it at ~1.6 s, and the
    # adapter's lookups by client id (not a resend) found it
    assert time.monotonic() - t0 >= 1.6
    assert result.recovered
    assert result.state == "FILLED"
    assert result.fill is not None
    assert result.trade_opened_id
    assert fired(venue, posts) == 1
    found = assert_one_order(broker, client_id)
    assert found["creates"][0]["id"] == result.order_id
    assert len(found["fills"]) == 1


def test_latency_within_the_read_timeout_is_just_slower(
    broker: OandaBroker, venue: service.Venue
) -> None:
    broker.pricing([EUR])  # connection up
    (rule,) = arm(
        venue,
        None,
        {"kind": "latency", "ms": 400, "method": "GET", "path": "/v3/accounts/*/pricing"},
    )
    t0 = time.monotonic()
    assert broker.v20_pricing([EUR])[0]["instrument"] == EUR
    took = time.monotonic() - t0
    assert 0.4 <= took < READ_TIMEOUT
    assert fired(venue, rule) == 1  # answered once: no timeout, no retry
    posts = post_counter(venue)
    arm(venue, None, {"kind": "latency", "ms": 400, "method": "POST", "path": ORDERS})
    client_id = cid()
    result = broker.submit_order(OrderRequest(EUR, 100, client_id=client_id))
    assert not result.recovered
    assert result.state == "FILLED"
    assert fired(venue, posts) == 1
    assert_one_order(broker, client_id)


# ------------------------------------------------------------------ 2. 429 and 5xx bursts


@pytest.mark.parametrize("status", [429, 500, 503])
def test_read_bursts_are_retried(
    broker: OandaBroker, venue: service.Venue, hook: SpecHook, status: int
) -> None:
    rules = arm(
        venue,
        hook,
        {
            "kind": "status",
            "status": status,
            "method": "GET",
            "path": "/v3/accounts/*/summary",
            "count": 3,
        },
        {
            "kind": "status",
            "status": status,
            "method": "GET",
            "path": "/v3/instruments/*/candles",
            "count": 2,
        },
        {
            "kind": "status",
            "status": status,
            "method": "GET",
            "path": "/v3/accounts/*/transactions/sinceid",
            "count": 2,
        },
    )
    assert broker.v20_account_summary()["id"] == ACCOUNT
    assert len(broker.candles(EUR, "M1", count=5)) == 5
    assert broker.v20_transactions_since("1").last_transaction_id
    assert [fired(venue, r) for r in rules] == [3, 2, 2]
    assert hook.skipped == 7


@pytest.mark.parametrize("status", [429, 500, 503])
def test_order_submit_bursts_surface_without_resend(
    broker: OandaBroker, venue: service.Venue, hook: SpecHook, status: int
) -> None:
    posts = post_counter(venue)
    (rule,) = arm(
        venue, hook, {"kind": "status", "status": status, "method": "POST", "path": ORDERS}
    )
    client_id = cid()
    t0 = time.monotonic()
    if status == 429:  # v20 answers 429 before acting: a plain refusal
        with pytest.raises(RateLimited) as refused:
            broker.submit_order(OrderRequest(EUR, 100, client_id=client_id))
        assert refused.value.status == status
    else:
        # a 5xx may come from a server that acted (or will act a moment later): the adapter
        # looks the order up by client id over the grace window and, finding nothing, says
        # the outcome is unknown, never "not placed" (the venue's status fault answers before
        # the engine runs, so there is nothing to find)
        with pytest.raises(UnknownOutcome) as unknown:
            broker.submit_order(OrderRequest(EUR, 100, client_id=client_id))
        assert unknown.value.client_id == client_id
        assert f"HTTP {status}" in str(unknown.value)
        assert "not placed" not in str(unknown.value)
        assert time.monotonic() - t0 >= broker.options.unknown_grace_s
    assert fired(venue, rule) == 1
    assert fired(venue, posts) == 1  # never resent
    assert_no_order(broker, client_id)
    # the next order goes through normally
    after = broker.submit_order(OrderRequest(EUR, 100, client_id=cid()))
    assert after.state == "FILLED"
    assert not after.recovered


# ------------------------------------------------------------------ 3. lost responses


def test_lost_response_resolved_by_client_id(broker: OandaBroker, venue: service.Venue) -> None:
    posts = post_counter(venue)
    (rule,) = arm(venue, None, {"kind": "lose_response", "method": "POST", "path": ORDERS})
    client_id = cid()
    result = broker.submit_order(OrderRequest(EUR, -100, client_id=client_id))
    assert result.recovered
    assert result.state == "FILLED"
    assert fired(venue, rule) == 1
    assert fired(venue, posts) == 1
    found = assert_one_order(broker, client_id)
    assert found["fills"][0]["id"] == str(result.fill.transaction_id)  # type: ignore[union-attr]


def test_lost_response_with_failing_lookups_is_an_unknown_outcome(
    broker: OandaBroker, venue: service.Venue, hook: SpecHook
) -> None:
    since = broker.last_transaction_id(refresh=True)
    posts = post_counter(venue)
    lookups = arm(
        venue,
        hook,
        {"kind": "lose_response", "method": "POST", "path": ORDERS},
        # every lookup fails for longer than the adapter's whole budget (until cleared)
        {
            "kind": "status",
            "status": 503,
            "method": "GET",
            "path": "/v3/accounts/*/orders/@*",
            "count": None,
        },
        {
            "kind": "status",
            "status": 503,
            "method": "GET",
            "path": "/v3/accounts/*/transactions/sinceid",
            "count": None,
        },
    )[1:]
    client_id = cid()
    with pytest.raises(UnknownOutcome) as err:
        broker.submit_order(OrderRequest(EUR, 100, client_id=client_id))
    assert err.value.client_id == client_id
    assert "do not resend" in str(err.value)
    opts = broker.options
    assert fired(venue, lookups[0]) >= opts.resolve_backoff.attempts  # it did look, repeatedly
    assert fired(venue, posts) == 1  # nothing resent
    admin(venue, {"clear": True})
    result = broker.resolve_order(client_id, since_id=since)
    assert result.recovered
    assert result.state == "FILLED"
    assert_one_order(broker, client_id)
    assert broker.resolve_order(client_id).order_id == result.order_id  # from the start, too


# ------------------------------------------------------------------ 4. streams drop and tear


@pytest.mark.parametrize("kind", ["stream_drop", "torn_line"])
def test_price_stream_reconnects_and_keeps_delivering(
    broker: OandaBroker, venue: service.Venue, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tradewind.broker.oanda")
    (rule,) = arm(venue, None, {"kind": kind, "path": PRICE_STREAM, "after_lines": 4, "count": 2})
    stream = price_stream(broker, [EUR, JPY], heartbeats=True)
    got = take(stream, 15.0, until=lambda g: len(prices_of(g)) >= 30)
    stream.close()  # type: ignore[attr-defined]
    assert fired(venue, rule) == 2
    assert (
        sum(
            "price stream" in r.getMessage() and "reconnecting" in r.getMessage()
            for r in caplog.records
        )
        >= 2
    )
    prices = prices_of(got)
    assert len(prices) >= 30  # kept delivering after both faults
    for name in (EUR, JPY):
        times = [rfc3339_ns(p["time"]) for p in prices_of(got, name)]
        assert times == sorted(set(times))  # across reconnects: in order, none twice


@pytest.mark.parametrize("kind", ["stream_drop", "torn_line"])
def test_transaction_stream_reconnects_and_backfills(
    broker: OandaBroker, venue: service.Venue, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tradewind.broker.oanda")
    start = int(broker.last_transaction_id(refresh=True))
    for _ in range(2):  # before the stream connects: backfilled from sinceid
        broker.submit_order(OrderRequest(EUR, 10, client_id=cid()))
    # each of the next two stream lines (a heartbeat or a transaction) breaks the stream
    (rule,) = arm(venue, None, {"kind": kind, "path": TX_STREAM, "count": 2})
    path = f"/v3/accounts/{ACCOUNT}/transactions/stream"
    stream = checked(
        broker.v20_transaction_stream(str(start), heartbeats=True, max_failures=20), path
    )
    seen: list[dict[str, Any]] = []
    target = [10**12]
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            for msg in stream:  # heartbeats too, so the loop can notice it is done
                if msg["type"] != "HEARTBEAT":
                    seen.append(msg)
                if seen and int(seen[-1]["id"]) >= target[0]:
                    break
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    for i in range(6):  # while the stream drops or tears
        broker.submit_order(OrderRequest(EUR, -10 if i % 2 else 10, client_id=cid()))
        time.sleep(0.15)
    target[0] = int(broker.last_transaction_id(refresh=True))
    t.join(20)
    assert not t.is_alive(), f"stream stalled at {[x['id'] for x in seen][-3:]}"
    assert not errors, errors
    ids = [int(x["id"]) for x in seen]
    assert ids == list(range(start + 1, target[0] + 1))  # no gap, no duplicate, in order
    assert fired(venue, rule) == 2
    assert any("transaction stream" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ 5. duplicate, out of order


@pytest.mark.parametrize("kind", ["duplicate", "out_of_order"])
def test_duplicate_and_out_of_order_ticks_are_filtered(
    broker: OandaBroker, venue: service.Venue, kind: str
) -> None:
    # the adapter promises (price_stream's docstring) to skip a price no newer than the last
    # one it yielded for its instrument
    (rule,) = arm(venue, None, {"kind": kind, "path": PRICE_STREAM, "after_lines": 2, "count": 5})
    stream = price_stream(broker, [EUR])
    got = take(stream, 15.0, until=lambda g: len(g) >= 20 and fired(venue, rule) >= 5)
    stream.close()  # type: ignore[attr-defined]
    assert fired(venue, rule) == 5  # the venue did send 5 duplicated / swapped pairs
    keys = [(p["instrument"], rfc3339_ns(p["time"])) for p in prices_of(got)]
    assert len(keys) == len(set(keys))  # each (instrument, time) once
    assert keys == sorted(keys)  # in time order


# ------------------------------------------------------------------ 6. stale prices, silence


def test_stale_instrument_is_visible_to_a_consumer(
    broker: OandaBroker, venue: service.Venue
) -> None:
    (rule,) = arm(
        venue,
        None,
        {"kind": "stale", "instrument": EUR, "path": PRICE_STREAM, "after_lines": 4, "count": None},
    )
    stream = price_stream(broker, [EUR, JPY], heartbeats=True)
    got = take(stream, 3.0)
    stream.close()  # type: ignore[attr-defined]
    eur, jpy = prices_of(got, EUR), prices_of(got, JPY)
    beats = [m for m in got if m["type"] == "HEARTBEAT"]
    assert eur
    assert len(jpy) >= 8
    assert len(beats) >= 4
    assert fired(venue, rule) >= 4
    # what a consumer sees: EUR_USD's last price time falls ever further behind the stream's
    # own clock (heartbeats, USD_JPY), while USD_JPY's stays current
    now = rfc3339_ns(beats[-1]["time"])
    eur_age = (now - rfc3339_ns(eur[-1]["time"])) / service.NS
    jpy_age = (now - rfc3339_ns(jpy[-1]["time"])) / service.NS
    assert eur_age > 60  # > 1.2 s at 50x: a dozen 5 s ticks missed
    assert jpy_age <= 25


def test_silent_stream_is_detected_by_the_stall_timeout(
    hook: SpecHook, caplog: pytest.LogCaptureFixture
) -> None:
    # No fault silences a stream outright (``stale`` keeps the heartbeats): a venue that beats
    # every 60 s with its only instrument stale is silent after the first heartbeat.
    caplog.set_level(logging.WARNING, logger="tradewind.broker.oanda")
    quiet = service.Venue.build(
        token=TOKEN, seed=5, heartbeat_s=60.0, clock="fast", speed=SPEED, start_ns=START
    )
    with service.serve_in_thread(quiet) as base:
        quiet.base_url = base  # type: ignore[attr-defined]
        arm(quiet, None, {"kind": "stale", "instrument": EUR, "count": None})
        b = make_broker(base, "tw-venue-quiet", hook, stream_stall=0.8)
        try:
            stream = price_stream(b, [EUR], heartbeats=True)
            t0 = time.monotonic()
            beats = take(stream, 10.0, until=lambda g: len(g) >= 3)
            assert [m["type"] for m in beats] == ["HEARTBEAT"] * 3  # one per connection
            assert time.monotonic() - t0 >= 2 * 0.8  # each after a stall timeout
            stalls = [r.getMessage() for r in caplog.records if "reconnecting" in r.getMessage()]
            assert len(stalls) >= 2
            admin(quiet, {"clear": True})
            got = take(stream, 10.0, until=lambda g: bool(prices_of(g)))
            assert prices_of(got, EUR)  # back once the instrument speaks again
            stream.close()  # type: ignore[attr-defined]
        finally:
            b.close()


# ------------------------------------------------------------------ 7. halted instrument


def test_market_order_on_a_halted_instrument_is_cancelled(
    broker: OandaBroker, venue: service.Venue
) -> None:
    posts = post_counter(venue)
    arm(venue, None, {"kind": "halt", "instrument": EUR, "count": None})
    assert [p["tradeable"] for p in broker.v20_pricing([EUR, JPY])] == [False, True]
    client_id = cid()
    trades_before = len(broker.list_trades())
    # the adapter returns v20's answer (201: the create and a MARKET_HALTED cancel) as an
    # OrderResult in state CANCELLED, not as an exception
    result = broker.submit_order(OrderRequest(EUR, 100, client_id=client_id))
    assert result.state == "CANCELLED"
    assert result.cancel is not None
    assert result.cancel.reason == "MARKET_HALTED"
    assert result.fill is None
    assert result.trade_opened_id is None
    assert not result.recovered
    assert broker.get_order(client_id=client_id)["state"] == "CANCELLED"
    found = assert_one_order(broker, client_id)
    assert len(found["cancels"]) == 1
    assert found["fills"] == []
    assert len(broker.list_trades()) == trades_before
    assert fired(venue, posts) == 1
    # other instruments trade; once the halt is lifted EUR_USD does too
    assert broker.submit_order(OrderRequest(JPY, 100, client_id=cid())).state == "FILLED"
    admin(venue, {"clear": True})
    assert broker.submit_order(OrderRequest(EUR, 100, client_id=cid())).state == "FILLED"
