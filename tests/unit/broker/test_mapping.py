"""oandapyV20 failures -> broker errors, and order bodies/results, without a network."""

from __future__ import annotations

import json

import pytest
import requests
from oandapyV20.exceptions import V20Error
from urllib3.exceptions import MaxRetryError, NewConnectionError

from tradewind.broker.errors import (
    AuthError,
    BrokerError,
    BrokerUnavailable,
    NotFound,
    RateLimited,
    RejectedOrder,
)
from tradewind.broker.mapping import RETRYABLE, map_error, never_sent
from tradewind.broker.oanda import order_body, result_from_response
from tradewind.broker.ports import OrderRequest


def v20(code: int, **body: object) -> V20Error:
    return V20Error(code, json.dumps(body))


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (400, BrokerError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFound),
        (405, BrokerError),
        (429, RateLimited),
        (500, BrokerUnavailable),
        (502, BrokerUnavailable),
        (503, BrokerUnavailable),
    ],
)
def test_status_codes(code: int, kind: type[BrokerError]) -> None:
    err = map_error(v20(code, errorMessage="nope", errorCode="X_Y"), "thing")
    assert type(err) is kind
    assert err.status == code
    assert "thing: HTTP" in str(err)
    assert "nope" in str(err)
    assert isinstance(err, RETRYABLE) == (code == 429 or code >= 500)


def test_reject_transaction_becomes_rejected_order() -> None:
    tx = {
        "id": "7",
        "type": "MARKET_ORDER_REJECT",
        "rejectReason": "INSUFFICIENT_MARGIN",
        "clientExtensions": {"id": "c-1"},
    }
    err = map_error(
        v20(400, orderRejectTransaction=tx, errorCode="INSUFFICIENT_MARGIN", errorMessage="m"),
        "order c-1",
    )
    assert isinstance(err, RejectedOrder)
    assert err.reason == "INSUFFICIENT_MARGIN"
    assert err.transaction == tx
    assert err.client_id == "c-1"


def test_non_json_body_and_transport_errors() -> None:
    err = map_error(V20Error(502, "<html>bad gateway</html>"), "x")
    assert isinstance(err, BrokerUnavailable)
    assert "bad gateway" in str(err)
    assert isinstance(map_error(requests.ReadTimeout("t"), "x"), BrokerUnavailable)
    assert isinstance(map_error(requests.ConnectionError("reset"), "x"), BrokerUnavailable)
    odd = map_error(ValueError("v3/accounts/1/orders POST 200"), "x")
    assert isinstance(odd, BrokerUnavailable)
    assert "unexpected response" in str(odd)


def test_never_sent_only_for_failed_connects() -> None:
    refused = requests.ConnectionError(
        MaxRetryError(None, "/", NewConnectionError(None, "refused"))  # type: ignore[arg-type]
    )
    assert never_sent(refused)
    assert never_sent(requests.ConnectTimeout())
    assert not never_sent(requests.ReadTimeout())
    assert not never_sent(requests.ConnectionError("Connection aborted."))


def test_scrub_applies_to_wire_text() -> None:
    err = map_error(
        v20(500, errorMessage="token SECRET-123 echoed"),
        "x",
        lambda s: s.replace("SECRET-123", "***"),
    )
    assert "SECRET-123" not in str(err)


def test_order_bodies() -> None:
    m = order_body(
        OrderRequest("EUR_USD", 1000, price_bound="1.2", stop_loss=1.05, take_profit="1.3"), "c1"
    )
    assert m == {
        "type": "MARKET",
        "instrument": "EUR_USD",
        "units": "1000",
        "positionFill": "DEFAULT",
        "clientExtensions": {"id": "c1"},
        "timeInForce": "FOK",
        "priceBound": "1.2",
        "stopLossOnFill": {"price": "1.05"},
        "takeProfitOnFill": {"price": "1.3"},
    }
    lim = order_body(OrderRequest("EUR_USD", -5, type="LIMIT", price=1.10123), "c2")
    assert lim["price"] == "1.10123"
    assert lim["timeInForce"] == "GTC"
    assert lim["units"] == "-5"
    with pytest.raises(ValueError, match="needs a price"):
        order_body(OrderRequest("EUR_USD", 1, type="STOP"), "c3")
    with pytest.raises(ValueError, match="gtd_time"):
        order_body(OrderRequest("EUR_USD", 1, type="LIMIT", price=1, time_in_force="GTD"), "c4")


def test_result_from_create_answer() -> None:
    resp = {
        "orderCreateTransaction": {"id": "10", "type": "MARKET_ORDER"},
        "orderFillTransaction": {
            "id": "11",
            "type": "ORDER_FILL",
            "tradeOpened": {"tradeID": "11"},
        },
        "relatedTransactionIDs": ["10", "11"],
        "lastTransactionID": "11",
    }
    r = result_from_response("c", resp)
    assert (r.order_id, r.state, r.trade_opened_id, r.recovered) == ("10", "FILLED", "11", False)
    assert [t.transaction_id for t in r.transactions] == [10, 11]
    pending = result_from_response("c", {"orderCreateTransaction": {"id": "3"}})
    assert pending.state == "PENDING"
    cancelled = result_from_response(
        "c", {"orderCreateTransaction": {"id": "3"}, "orderCancelTransaction": {"id": "4"}}
    )
    assert cancelled.state == "CANCELLED"
