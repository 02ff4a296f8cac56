"""The venue's hard edges over HTTP (the real server on loopback): huge and non-ASCII numbers,
oversized and trickled requests, huge query strings, statuses outside the description, and a
clock jump past what prices can represent. Every answer is v20's JSON error body with a
``RequestID``, at a status the description lists, and the venue keeps serving afterwards."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from venue_support import ACCOUNT as A
from venue_support import TOKEN, running_venue

from tradewind.testing.openapi import V20Spec
from tradewind.venue import service
from tradewind.venue.http_limits import HttpLimits

SPEC = V20Spec()
H = {"Authorization": f"Bearer {TOKEN}"}
LIMITS = HttpLimits(max_body_bytes=16 * 1024, head_timeout_s=1.0, body_timeout_s=1.0)
HUGE = "1" + "0" * 28


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with running_venue(limits=LIMITS) as v:
        yield v.base_url


def call(base: str, method: str, path: str, **kw: Any) -> requests.Response:
    r = requests.request(method, base + path, headers=H, timeout=10, **kw)
    assert r.headers.get("RequestID"), r.headers
    assert r.headers["content-type"].startswith("application/json"), r.headers
    if path.startswith("/v3/"):
        SPEC.validate_response(method, path.split("?")[0], r.status_code, r.json())
    return r


def order(base: str, **fields: Any) -> requests.Response:
    spec = {"type": "MARKET", "instrument": "EUR_USD", "units": "100", **fields}
    return call(base, "POST", f"/v3/accounts/{A}/orders", json={"order": spec})


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"type": "LIMIT", "price": "1e28"}, "PRICE_INVALID"),
        ({"type": "LIMIT", "price": HUGE}, "PRICE_INVALID"),
        ({"priceBound": HUGE}, "PRICE_BOUND_INVALID"),
        ({"takeProfitOnFill": {"price": HUGE}}, "TAKE_PROFIT_ON_FILL_PRICE_INVALID"),
        (
            {"stopLossOnFill": {"distance": HUGE}},
            "STOP_LOSS_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED",
        ),
        ({"units": "١٠٠"}, "UNITS_INVALID"),
        ({"units": "1e3"}, "UNITS_INVALID"),
        ({"units": " 100 "}, "UNITS_INVALID"),
        ({"units": "+100"}, "UNITS_INVALID"),
    ],
    ids=lambda v: json.dumps(v, ensure_ascii=False)[:40],
)
def test_numbers_out_of_range_or_format_get_v20s_400(
    base: str, fields: dict[str, Any], code: str
) -> None:
    r = order(base, **fields)
    assert r.status_code == 400, r.text
    assert r.json()["errorCode"] == code
    assert r.json()["orderRejectTransaction"]["rejectReason"] == code


def test_trade_orders_and_closes_with_huge_numbers_get_400(base: str) -> None:
    r = order(base)
    assert r.status_code == 201, r.text
    tid = r.json()["orderFillTransaction"]["tradeOpened"]["tradeID"]
    t = f"/v3/accounts/{A}/trades/{tid}"
    for body, code in (
        ({"takeProfit": {"price": HUGE}}, "PRICE_INVALID"),
        ({"stopLoss": {"distance": HUGE}}, "PRICE_DISTANCE_MAXIMUM_EXCEEDED"),
    ):
        r = call(base, "PUT", f"{t}/orders", json=body)
        assert (r.status_code, r.json()["errorCode"]) == (400, code)
    r = call(base, "PUT", f"{t}/close", json={"units": "١٠"})
    assert (r.status_code, r.json()["errorCode"]) == (400, "CLOSE_TRADE_PARTIAL_UNITS_MISSING")
    r = call(base, "PUT", f"/v3/accounts/{A}/positions/EUR_USD/close", json={"longUnits": "1e1"})
    assert r.status_code == 400
    assert r.json()["errorCode"] == "CLOSEOUT_POSITION_PARTIAL_UNITS_MISSING"
    assert call(base, "PUT", f"{t}/close").status_code == 200  # the trade still closes


def test_oversized_body_gets_413_and_nothing_is_done(base: str) -> None:
    before = call(base, "GET", f"/v3/accounts/{A}/summary").json()["lastTransactionID"]
    padding = "x" * (LIMITS.max_body_bytes + 1)
    body = {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "1"}, "pad": padding}
    r = requests.post(f"{base}/v3/accounts/{A}/orders", json=body, headers=H, timeout=10)
    assert r.status_code == 413
    assert r.headers["RequestID"]
    assert "exceeds 16384 bytes" in r.json()["errorMessage"]
    # chunked, with no Content-Length: counted as it arrives
    chunks = iter([json.dumps(body).encode()[i : i + 4096] for i in range(0, 20_000, 4096)])
    r = requests.post(f"{base}/v3/accounts/{A}/orders", data=chunks, headers=H, timeout=10)
    assert r.status_code == 413
    after = call(base, "GET", f"/v3/accounts/{A}/summary").json()["lastTransactionID"]
    assert after == before


def _address(base: str) -> tuple[str, int]:
    host, port = base.split("//", 1)[1].split(":")
    return host, int(port)


def _trickle(base: str, pieces: list[bytes], every_s: float = 0.25) -> tuple[float, bytes]:
    """Send ``pieces`` one by one; seconds until the venue closed the connection, and what it
    said first (b"" when it closed without an answer, with a FIN or, when bytes it had not
    read were left, a reset)."""
    with socket.create_connection(_address(base), timeout=10) as s:
        t0 = time.monotonic()
        for piece in pieces:
            try:
                s.sendall(piece)
            except OSError:
                break
            s.settimeout(every_s)
            try:
                got = s.recv(4096)
                return time.monotonic() - t0, got
            except TimeoutError:
                continue
            except ConnectionResetError:  # closed with our bytes unread: a reset, no answer
                return time.monotonic() - t0, b""
        s.settimeout(10)
        try:
            got = s.recv(4096)
        except OSError:
            got = b""
        return time.monotonic() - t0, got


@pytest.mark.parametrize("part", ["head", "body"])
def test_a_trickled_request_is_cut_off_within_seconds(base: str, part: str) -> None:
    head = (
        f"POST /v3/accounts/{A}/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Type: application/json\r\nContent-Length: 200\r\n"
    ).encode()
    if part == "head":
        pieces = [head[i : i + 8] for i in range(0, len(head), 8)]
    else:
        pieces = [head + b"\r\n"] + [b" "] * 200
    took, got = _trickle(base, pieces)
    assert got == b"", got  # closed, no answer: nothing was done
    assert took < 3.0  # the 1 s deadline (the request would take 50 s to send in full)
    assert call(base, "GET", f"/v3/accounts/{A}/summary").status_code == 200


def test_a_huge_query_or_head_gets_a_json_error_with_request_id(base: str) -> None:
    r = requests.get(f"{base}/v3/accounts/{A}/trades", params={"x": "a" * 100_000}, headers=H)
    assert r.headers["RequestID"]
    assert r.headers["content-type"] == "application/json"
    assert "exceed" in r.json()["errorMessage"]
    SPEC.validate_response("GET", f"/v3/accounts/{A}/trades", r.status_code, r.json())
    with socket.create_connection(_address(base), timeout=10) as s:
        s.sendall(b"NOT HTTP\x00\r\n\r\n")
        answer = s.recv(4096)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"requestid:" in head.lower()
    assert json.loads(body)["errorMessage"] == "The request is not valid HTTP"


@pytest.mark.parametrize(
    "path",
    [
        f"/v3/accounts/{A}/positions/NOPE_XXX",
        f"/v3/accounts/{A}/positions/eur_usd",
        f"/v3/accounts/{A}/changes",
        f"/v3/accounts/{A}/changes?sinceTransactionID=abc",
        f"/v3/accounts/{A}/changes?sinceTransactionID=-1",
        f"/v3/accounts/{A}/trades?count=abc",
        f"/v3/accounts/{A}/transactions/abc",
    ],
)
def test_bad_requests_get_a_status_the_operation_lists(base: str, path: str) -> None:
    r = call(base, "GET", path)  # validates the status and body against the description
    assert r.status_code in (404, 416), r.text
    assert r.json()["errorMessage"]


def test_a_clock_jump_past_the_representable_is_refused_and_the_venue_keeps_answering() -> None:
    with running_venue(clock="stepped") as v:
        b = v.base_url
        for change in (
            {"set": "2262-06-01T00:00:00Z"},
            {"set": "2200-01-01T00:00:01Z"},
            {"set": "1970-06-01T00:00:00Z"},
            {"advance": 300 * 365 * 86_400},
        ):
            r = requests.post(f"{b}/admin/clock", json=change, headers=H, timeout=10)
            assert r.status_code == 400, (change, r.text)
            assert "1971-01-01T00:00:00Z..2200-01-01T00:00:00Z" in r.json()["errorMessage"]
        assert v.clock.now_ns() == service.NS * 1704196800  # untouched: 2024-01-02T12:00Z
        r = requests.post(f"{b}/admin/clock", json={"set": "2199-12-31T00:00:00Z"}, headers=H)
        assert r.status_code == 200, r.text
        for path in (
            f"/v3/accounts/{A}/summary",
            f"/v3/accounts/{A}/pricing?instruments=EUR_USD",
            "/v3/instruments/EUR_USD/candles?count=5&granularity=M",
        ):
            assert call(b, "GET", path).status_code == 200, path
