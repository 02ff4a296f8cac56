"""The venue's market side over loopback with the real oandapyV20 client: candles, pricing,
the pricing stream, auth, error bodies and every fault as the client sees it. Every response
is checked against OANDA's OpenAPI description."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from oandapyV20 import API
from oandapyV20.endpoints import instruments, pricing
from oandapyV20.exceptions import V20Error

from tradewind.testing.openapi import V20Spec
from tradewind.venue.faults import Faults
from tradewind.venue.prices import NS
from tradewind.venue.service import Venue, register_environment, serve_in_thread

TOKEN = "test-token-123"
MON = 1_718_000_000 * NS  # Monday 2024-06-10 06:13:20 UTC
SPEC = V20Spec()
STREAM = "/v3/accounts/{}/pricing/stream"


@pytest.fixture(scope="module")
def venue() -> Venue:
    return Venue.build(token=TOKEN, clock="fast", speed=50, start_ns=MON, seed=3, heartbeat_s=0.2)


@pytest.fixture(scope="module")
def base(venue: Venue) -> Iterator[str]:
    with serve_in_thread(venue) as url:
        register_environment("tw-venue-market", url)
        yield url


@pytest.fixture
def api(base: str, venue: Venue) -> Iterator[API]:
    venue.faults.clear()
    client = API(access_token=TOKEN, environment="tw-venue-market")
    client.client.hooks["response"].append(SPEC.requests_hook)
    yield client
    client.close()
    venue.faults.clear()


@pytest.fixture
def account(venue: Venue) -> str:
    return next(iter(venue.engine.accounts))


def add_faults(base: str, *rules: dict[str, Any]) -> None:
    r = requests.post(
        f"{base}/admin/faults",
        json={"faults": list(rules)},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert r.status_code == 200, r.text


def stream_lines(api: API, account: str, n: int, names: str = "EUR_USD,USD_JPY") -> list[dict]:
    ep = pricing.PricingStream(account, params={"instruments": names})
    out = []
    lines = api.request(ep)
    try:
        for line in itertools.islice(lines, n):
            SPEC.validate_stream_line(STREAM.format(account), line)
            out.append(line)
    finally:
        lines.close()
    return out


def test_candles_with_the_real_client(api: API, account: str) -> None:
    r = api.request(
        instruments.InstrumentsCandles(
            "EUR_USD", params={"granularity": "M1", "count": 30, "price": "MBA"}
        )
    )
    assert r["instrument"] == "EUR_USD"
    assert len(r["candles"]) == 30
    assert r["candles"][0]["complete"]
    assert r["candles"][0]["volume"] == 12
    page = api.request(
        instruments.InstrumentsCandles(
            "EUR_USD",
            params={"granularity": "M1", "from": r["candles"][-5]["time"], "includeFirst": False},
        )
    )
    assert page["candles"][0]["time"] == r["candles"][-4]["time"]
    with pytest.raises(V20Error) as e:
        api.request(instruments.InstrumentsCandles("EUR_USD", params={"count": 5001}))
    assert e.value.code == 400
    assert "errorMessage" in json.loads(e.value.msg)


def test_account_candles_and_unix_times(base: str, account: str) -> None:
    r = requests.get(
        f"{base}/v3/accounts/{account}/instruments/USD_JPY/candles",
        params={"granularity": "H1", "count": 3},
        headers={"Authorization": f"Bearer {TOKEN}", "Accept-Datetime-Format": "UNIX"},
        timeout=5,
    )
    assert r.status_code == 200
    assert r.headers["RequestID"]
    SPEC.validate_response("GET", r.request.path_url.split("?")[0], 200, r.json())
    assert "T" not in r.json()["candles"][0]["time"]


def test_pricing(api: API, account: str) -> None:
    r = api.request(pricing.PricingInfo(account, params={"instruments": "EUR_USD,GBP_JPY"}))
    assert [p["instrument"] for p in r["prices"]] == ["EUR_USD", "GBP_JPY"]
    p = r["prices"][0]
    assert p["tradeable"]
    assert float(p["bids"][0]["price"]) < float(p["asks"][0]["price"])
    with pytest.raises(V20Error) as e:
        api.request(pricing.PricingInfo(account, params={"instruments": "NOPE_XXX"}))
    assert e.value.code == 400


def test_pricing_stream_prices_and_heartbeats(api: API, account: str) -> None:
    lines = stream_lines(api, account, 40)
    kinds = {x["type"] for x in lines}
    assert kinds == {"PRICE", "HEARTBEAT"}
    prices = [x for x in lines if x["type"] == "PRICE"]
    times = [x["time"] for x in prices[2:]]  # after the snapshot
    assert times == sorted(times)


def test_auth_and_error_bodies(base: str, api: API, account: str) -> None:
    bad = API(access_token="wrong", environment="tw-venue-market")
    with pytest.raises(V20Error) as e:
        bad.request(pricing.PricingInfo(account, params={"instruments": "EUR_USD"}))
    assert e.value.code == 401
    assert json.loads(e.value.msg) == {
        "errorMessage": "Insufficient authorization to perform request."
    }
    r = requests.get(f"{base}/v3/accounts/{account}/pricing", timeout=5)
    assert r.status_code == 401
    assert r.headers["RequestID"]
    h = {"Authorization": f"Bearer {TOKEN}"}
    r = requests.get(f"{base}/v3/nothing/here", headers=h, timeout=5)
    assert r.status_code == 404
    assert "errorMessage" in r.json()
    assert r.headers["RequestID"]
    r = requests.delete(f"{base}/v3/instruments/EUR_USD/candles", headers=h, timeout=5)
    assert r.status_code == 405
    assert "errorMessage" in r.json()


def test_admin_clock(base: str) -> None:
    stepped = Venue.build(token=TOKEN, clock="stepped", start_ns=MON)
    with serve_in_thread(stepped, trading=False) as url:
        h = {"Authorization": f"Bearer {TOKEN}"}
        r = requests.post(f"{url}/admin/clock", json={"advance": 60}, headers=h, timeout=5)
        assert r.json()["now_ns"] == MON + 60 * NS
        r = requests.post(
            f"{url}/admin/clock", json={"set": "2024-06-11T00:00:00Z"}, headers=h, timeout=5
        )
        assert r.json()["now_ns"] == 1_718_064_000 * NS
        assert requests.get(f"{url}/admin/faults", headers=h, timeout=5).json()["faults"] == []


# ------------------------------------------------------------------------------- faults


def test_latency(api: API, base: str, account: str) -> None:
    add_faults(base, {"kind": "latency", "ms": 300, "path": "/v3/accounts/*/pricing"})
    t = time.monotonic()
    api.request(pricing.PricingInfo(account, params={"instruments": "EUR_USD"}))
    assert time.monotonic() - t >= 0.3
    t = time.monotonic()
    api.request(pricing.PricingInfo(account, params={"instruments": "EUR_USD"}))
    assert time.monotonic() - t < 0.3  # counted down


@pytest.mark.parametrize("status", [429, 500, 503])
def test_status_bursts(api: API, base: str, account: str, status: int) -> None:
    add_faults(base, {"kind": "status", "status": status, "path": "/v3/*", "count": 2})
    api.client.hooks["response"].clear()  # an injected status is outside the description
    ep = pricing.PricingInfo(account, params={"instruments": "EUR_USD"})
    for _ in range(2):
        with pytest.raises(V20Error) as e:
            api.request(ep)
        assert e.value.code == status
        assert "errorMessage" in json.loads(e.value.msg)
    body = api.request(ep)
    SPEC.validate_response("GET", f"/v3/accounts/{account}/pricing", 200, body)


def test_lost_response(api: API, base: str, account: str, venue: Venue) -> None:
    add_faults(base, {"kind": "lose_response", "method": "GET", "path": "*/pricing"})
    with pytest.raises(requests.ConnectionError):
        api.request(pricing.PricingInfo(account, params={"instruments": "EUR_USD"}))
    assert venue.faults.rules[0].fired == 1
    assert api.request(pricing.PricingInfo(account, params={"instruments": "EUR_USD"}))


def test_stream_dropped_mid_line(api: API, base: str, account: str) -> None:
    add_faults(base, {"kind": "stream_drop", "after_lines": 5})
    with pytest.raises((requests.RequestException, json.JSONDecodeError)):
        stream_lines(api, account, 50)


def test_torn_line(api: API, base: str, account: str) -> None:
    add_faults(base, {"kind": "torn_line", "after_lines": 3})
    with pytest.raises(json.JSONDecodeError):
        stream_lines(api, account, 50)


def test_duplicate_and_out_of_order_ticks(api: API, base: str, account: str) -> None:
    add_faults(base, {"kind": "duplicate", "after_lines": 3, "count": 1})
    prices = [x for x in stream_lines(api, account, 20) if x["type"] == "PRICE"]
    assert any(a == b for a, b in itertools.pairwise(prices))
    add_faults(base, {"kind": "out_of_order", "after_lines": 3, "count": 1})
    prices = [x for x in stream_lines(api, account, 20, "EUR_USD") if x["type"] == "PRICE"]
    assert any(a["time"] > b["time"] for a, b in itertools.pairwise(prices))


def test_stale_prices_keep_heartbeats(api: API, base: str, account: str) -> None:
    add_faults(base, {"kind": "stale", "instrument": "EUR_USD", "count": None})
    lines = stream_lines(api, account, 40)
    prices = [x["instrument"] for x in lines if x["type"] == "PRICE"]
    assert "USD_JPY" in prices
    assert "EUR_USD" not in prices[2:]
    assert any(x["type"] == "HEARTBEAT" for x in lines)


def test_halt(api: API, base: str, account: str, venue: Venue) -> None:
    add_faults(base, {"kind": "halt", "instrument": "EUR_USD", "count": None})
    r = api.request(pricing.PricingInfo(account, params={"instruments": "EUR_USD,USD_JPY"}))
    assert [p["tradeable"] for p in r["prices"]] == [False, True]
    assert venue.prices.latest("EUR_USD").tradeable is False
    venue.faults.clear()
    assert venue.prices.latest("EUR_USD").tradeable


def test_faults_from_a_config() -> None:
    f = Faults.from_config({"seed": 9, "faults": [{"kind": "status", "status": 503}]})
    assert f.seed == 9
    assert f.rules[0].status == 503
