"""The conformance checker holds responses to OANDA's v20 description, and to the parts the
description states only in prose (formats) or leaves open (undefined keys)."""

from __future__ import annotations

import pytest

from tradewind.testing.openapi import ConformanceError, V20Spec

ACCOUNT = "101-001-0000001-001"
CREATE = {
    "orderCreateTransaction": {
        "type": "MARKET_ORDER",
        "id": "5",
        "time": "2024-01-01T00:00:00.000000000Z",
        "accountID": ACCOUNT,
        "instrument": "EUR_USD",
        "units": "100",
        "timeInForce": "FOK",
        "positionFill": "DEFAULT",
        "reason": "CLIENT_ORDER",
        "batchID": "5",
    },
    "relatedTransactionIDs": ["5"],
    "lastTransactionID": "5",
}


@pytest.fixture(scope="module")
def spec() -> V20Spec:
    return V20Spec()


def test_a_conforming_order_create_passes(spec: V20Spec) -> None:
    spec.validate_response("POST", f"/v3/accounts/{ACCOUNT}/orders", 201, CREATE)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("id", 5, "is not of type 'string'"),
        ("units", 100.5, "is not of type 'string'"),
        ("units", "1e3", "A decimal number"),
        ("time", "2024-01-01 00:00:00", "RFC 3339"),
        ("time", "2024-01-01T00:00:00.1234567891Z", "RFC 3339"),
        ("instrument", "EURUSD", "base currency and quote currency"),
        ("accountID", "abc", "siteID"),
        ("tradeOpen", "1", "keys not in the description: tradeOpen"),
    ],
)
def test_wrong_types_formats_and_keys_are_named(spec: V20Spec, field, value, needle) -> None:
    body = {**CREATE, "orderCreateTransaction": {**CREATE["orderCreateTransaction"], field: value}}
    with pytest.raises(ConformanceError, match=needle) as err:
        spec.validate_response("POST", f"/v3/accounts/{ACCOUNT}/orders", 201, body)
    assert "orderCreateTransaction" in str(err.value)


def test_status_codes_and_paths_must_exist(spec: V20Spec) -> None:
    with pytest.raises(ConformanceError, match="status 200 is not one the description allows"):
        spec.validate_response("POST", f"/v3/accounts/{ACCOUNT}/orders", 200, CREATE)
    with pytest.raises(ConformanceError, match="no such path"):
        spec.validate_response("GET", "/v3/nowhere", 200, {})
    with pytest.raises(ConformanceError, match="without errorMessage"):
        spec.validate_response("GET", f"/v3/accounts/{ACCOUNT}", 400, {"errorCode": "X"})


def test_client_ids_and_stream_lines(spec: V20Spec) -> None:
    assert spec.template(f"/v3/accounts/{ACCOUNT}/orders/@my-id") == (
        "/accounts/{accountID}/orders/{orderSpecifier}"
    )
    path = f"/v3/accounts/{ACCOUNT}/pricing/stream"
    spec.validate_stream_line(path, {"type": "HEARTBEAT", "time": "1704067200.000000000"})
    price = {
        "type": "PRICE",
        "instrument": "EUR_USD",
        "time": "2024-01-01T00:00:00.000000000Z",
        "bids": [{"price": "1.10000", "liquidity": 1000000}],
        "asks": [{"price": "1.10010", "liquidity": 1000000}],
        "closeoutBid": "1.10000",
        "closeoutAsk": "1.10010",
        "tradeable": True,
    }
    spec.validate_stream_line(path, price)
    with pytest.raises(ConformanceError, match="is not of type 'string'"):
        spec.validate_stream_line(path, {**price, "closeoutBid": 1.1})
    with pytest.raises(ConformanceError, match="unknown type"):
        spec.validate_stream_line(path, {"type": "TICK"})


def test_each_stream_has_its_own_heartbeat_and_lines(spec: V20Spec) -> None:
    tx_path = f"/v3/accounts/{ACCOUNT}/transactions/stream"
    beat = {"type": "HEARTBEAT", "lastTransactionID": "7", "time": "1704067200.000000000"}
    spec.validate_stream_line(tx_path, beat)
    with pytest.raises(ConformanceError, match="no lastTransactionID"):
        spec.validate_stream_line(tx_path, {"type": "HEARTBEAT", "time": beat["time"]})
    with pytest.raises(ConformanceError, match="unknown type"):
        spec.validate_stream_line(tx_path, {**beat, "type": "TRANSACTION_HEARTBEAT"})
    spec.validate_stream_line(tx_path, CREATE["orderCreateTransaction"])
    with pytest.raises(ConformanceError, match="unknown type"):  # a transaction on the price stream
        spec.validate_stream_line(
            f"/v3/accounts/{ACCOUNT}/pricing/stream", CREATE["orderCreateTransaction"]
        )
