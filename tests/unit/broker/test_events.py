"""v20 -> the domain: transactions as events, positions, the account, pending orders, prices."""

from __future__ import annotations

import json
from typing import Any

import pytest
from oandapyV20.exceptions import V20Error

from tradewind.broker.errors import RejectedOrder
from tradewind.broker.mapping import (
    account_from_v20,
    event_from_v20,
    heartbeat_from_v20,
    map_error,
    pending_order_from_v20,
    position_from_v20,
    tick_from_v20,
)
from tradewind.broker.oanda import result_from_response
from tradewind.domain.broker import (
    AccountSnapshot,
    Heartbeat,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OtherTransaction,
    PendingOrder,
    PositionSnapshot,
)
from tradewind.domain.ticks import Tick

TIME = "2024-01-02T12:00:00.123456789Z"
TIME_US = 1_704_196_800_123_456


def tx(tid: int, typ: str, **fields: Any) -> dict[str, Any]:
    return {"id": str(tid), "type": typ, "time": TIME, "accountID": "101-1", **fields}


@pytest.mark.parametrize("typ", ["MARKET_ORDER", "LIMIT_ORDER", "STOP_ORDER"])
def test_an_order_create_is_accepted(typ: str) -> None:
    raw = tx(
        5,
        typ,
        instrument="EUR_USD",
        units="-250",
        reason="CLIENT_ORDER",
        clientExtensions={"id": "c-1", "tag": "d1"},
    )
    event = event_from_v20(raw)
    assert event == OrderAccepted(
        transaction_id=5,
        time_us=TIME_US,
        reason="CLIENT_ORDER",
        client_id="c-1",
        broker_order_id="5",
        instrument="EUR_USD",
        units=-250.0,
        order_type=typ.removesuffix("_ORDER"),
    )
    assert event.raw is raw  # the broker's payload rides along, for the audit


def test_a_fill_carries_price_units_pl_and_costs() -> None:
    event = event_from_v20(
        tx(
            12,
            "ORDER_FILL",
            orderID="11",
            clientOrderID="c-2",
            instrument="USD_JPY",
            units="1000",
            price="141.234",
            pl="-12.5000",
            financing="-0.4200",
            commission="1.2500",
            reason="MARKET_ORDER",
            accountBalance="99985.8300",
        )
    )
    assert isinstance(event, OrderFilled)
    assert (event.transaction_id, event.time_us) == (12, TIME_US)
    assert (event.client_id, event.broker_order_id, event.instrument) == ("c-2", "11", "USD_JPY")
    assert (event.units, event.price) == (1000.0, 141.234)
    assert (event.pl, event.financing, event.commission) == (-12.5, -0.42, 1.25)
    assert event.reason == "MARKET_ORDER"


def test_a_fill_without_costs_or_client_id() -> None:
    event = event_from_v20(
        tx(13, "ORDER_FILL", orderID="9", instrument="EUR_USD", units="-5", price="1.1")
    )
    assert isinstance(event, OrderFilled)
    assert event.client_id is None
    assert (event.pl, event.financing, event.commission) == (0.0, 0.0, 0.0)


def test_cancels_plain_and_replaced() -> None:
    plain = event_from_v20(
        tx(20, "ORDER_CANCEL", orderID="18", clientOrderID="c-3", reason="MARKET_HALTED")
    )
    assert plain == OrderCancelled(
        transaction_id=20,
        time_us=TIME_US,
        reason="MARKET_HALTED",
        client_id="c-3",
        broker_order_id="18",
        replaced_by=None,
    )
    replaced = event_from_v20(
        tx(
            22,
            "ORDER_CANCEL",
            orderID="18",
            reason="CLIENT_REQUEST_REPLACED",
            replacedByOrderID="21",
        )
    )
    assert isinstance(replaced, OrderCancelled)
    assert replaced.replaced_by == "21"
    assert replaced.client_id is None
    no_reason = event_from_v20(tx(23, "ORDER_CANCEL", orderID="19"))
    assert isinstance(no_reason, OrderCancelled)
    assert no_reason.reason == "CANCELLED"


@pytest.mark.parametrize("typ", ["MARKET_ORDER_REJECT", "LIMIT_ORDER_REJECT", "STOP_ORDER_REJECT"])
def test_a_rejected_create(typ: str) -> None:
    event = event_from_v20(
        tx(
            30,
            typ,
            instrument="EUR_USD",
            units="100",
            rejectReason="INSUFFICIENT_MARGIN",
            clientExtensions={"id": "c-4"},
        )
    )
    assert event == OrderRejected(
        transaction_id=30,
        time_us=TIME_US,
        reason="INSUFFICIENT_MARGIN",
        client_id="c-4",
        instrument="EUR_USD",
        units=100.0,
    )
    bare = event_from_v20(tx(31, typ, clientExtensions={"id": "c-5"}))
    assert isinstance(bare, OrderRejected)
    assert bare.reason == typ  # no reason given: the type names it


def test_a_rejected_create_in_an_error_body_carries_its_event() -> None:
    reject = tx(
        40,
        "MARKET_ORDER_REJECT",
        rejectReason="MARKET_HALTED",
        clientExtensions={"id": "c-6"},
    )
    body = {"orderRejectTransaction": reject, "errorCode": "MARKET_HALTED", "errorMessage": "m"}
    err = map_error(V20Error(400, json.dumps(body)), "order c-6")
    assert isinstance(err, RejectedOrder)
    assert isinstance(err.event, OrderRejected)
    assert (err.event.transaction_id, err.event.client_id) == (40, "c-6")
    assert err.event.reason == "MARKET_HALTED"
    # a reject without a transaction id is no transaction: no event, still a reject
    del reject["id"]
    err = map_error(V20Error(400, json.dumps(body)), "order c-6")
    assert isinstance(err, RejectedOrder)
    assert err.event is None


@pytest.mark.parametrize(
    ("typ", "fields"),
    [
        # DAILY_FINANCING is acted on now: test_financing_mapping.py
        ("TAKE_PROFIT_ORDER", {"tradeID": "3", "price": "1.2"}),
        ("STOP_LOSS_ORDER", {"tradeID": "3", "price": "1.0"}),
        ("ORDER_CLIENT_EXTENSIONS_MODIFY", {"clientExtensionsModify": {"id": "x"}}),
        ("TRANSFER_FUNDS", {"amount": "100"}),
        ("ORDER_CANCEL_REJECT", {"rejectReason": "ORDER_DOESNT_EXIST"}),
        ("SOMETHING_NEW_FROM_THE_BROKER", {}),
        ("", {}),
    ],
)
def test_other_and_unknown_types_are_recorded_not_acted_on(
    typ: str, fields: dict[str, Any]
) -> None:
    event = event_from_v20(tx(50, typ, **fields))
    assert isinstance(event, OtherTransaction)
    assert (event.transaction_id, event.kind, event.time_us) == (50, typ, TIME_US)


def test_an_unknown_type_keeps_the_client_id_it_names() -> None:
    event = event_from_v20(tx(51, "ORDER_CLIENT_EXTENSIONS_MODIFY", clientOrderID="c-7"))
    assert isinstance(event, OtherTransaction)
    assert event.client_id == "c-7"


def test_a_transaction_without_an_id_is_refused() -> None:
    with pytest.raises(KeyError):
        event_from_v20({"type": "ORDER_FILL"})
    with pytest.raises(ValueError, match="invalid literal"):
        event_from_v20({"id": "x", "type": "ORDER_FILL"})


def test_a_time_that_is_not_a_v20_time_is_none() -> None:
    event = event_from_v20({"id": "1", "type": "CREATE", "time": "yesterday"})
    assert event.time_us is None


def test_heartbeats() -> None:
    assert heartbeat_from_v20({"type": "HEARTBEAT", "lastTransactionID": "77"}) == Heartbeat(77)
    assert heartbeat_from_v20({"type": "HEARTBEAT", "time": TIME}) == Heartbeat(None)


def test_positions_net_their_sides() -> None:
    long_ = {
        "instrument": "EUR_USD",
        "long": {"units": "1500", "averagePrice": "1.1025"},
        "short": {"units": "0"},
    }
    short = {
        "instrument": "USD_JPY",
        "long": {"units": "0"},
        "short": {"units": "-300", "averagePrice": "141.5"},
    }
    flat = {"instrument": "GBP_USD", "long": {"units": "0"}, "short": {"units": "0"}}
    assert position_from_v20(long_) == PositionSnapshot("EUR_USD", 1500.0, 1.1025)
    assert position_from_v20(short) == PositionSnapshot("USD_JPY", -300.0, 141.5)
    assert position_from_v20(flat) == PositionSnapshot("GBP_USD", 0.0, 0.0)


def test_the_account_summary() -> None:
    snap = account_from_v20(
        {
            "id": "101-1",
            "currency": "USD",
            "NAV": "100012.5",
            "balance": "100000.0",
            "marginAvailable": "98000.25",
            "lastTransactionID": "88",
        }
    )
    assert snap == AccountSnapshot("101-1", "USD", 100012.5, 100000.0, 98000.25, 88)


def test_pending_orders_ours_and_attached() -> None:
    ours = pending_order_from_v20(
        {
            "id": "31",
            "type": "LIMIT",
            "instrument": "EUR_USD",
            "units": "-100",
            "price": "1.2",
            "timeInForce": "GTC",
            "createTime": TIME,
            "clientExtensions": {"id": "c-8"},
        }
    )
    assert ours == PendingOrder(
        broker_order_id="31",
        client_id="c-8",
        instrument="EUR_USD",
        units=-100.0,
        type="LIMIT",
        attached=False,
        price=1.2,
        price_bound=None,
        time_in_force="GTC",
        created_us=TIME_US,
    )
    for typ in ("STOP_LOSS", "TAKE_PROFIT", "TRAILING_STOP_LOSS", "GUARANTEED_STOP_LOSS"):
        hanging = pending_order_from_v20({"id": "32", "type": typ, "tradeID": "3", "price": "1"})
        assert hanging.attached
        assert hanging.client_id is None


def test_prices_become_ticks_and_heartbeats_none() -> None:
    tick = tick_from_v20(
        {
            "type": "PRICE",
            "instrument": "EUR_USD",
            "time": TIME,
            "bids": [{"price": "1.1000", "liquidity": 1}, {"price": "1.0999", "liquidity": 1}],
            "asks": [{"price": "1.1002", "liquidity": 1}],
            "tradeable": True,
        }
    )
    assert tick == Tick("EUR_USD", TIME_US, 1.1, 1.1002, True)
    assert tick_from_v20({"type": "HEARTBEAT", "time": TIME}) is None


def test_an_order_answer_maps_its_fill_and_cancel() -> None:
    filled = result_from_response(
        "c",
        {
            "orderCreateTransaction": tx(10, "MARKET_ORDER", clientExtensions={"id": "c"}),
            "orderFillTransaction": tx(
                11, "ORDER_FILL", orderID="10", units="5", price="1.1", commission="0.1"
            ),
            "lastTransactionID": "11",
        },
    )
    assert isinstance(filled.fill, OrderFilled)
    assert (filled.fill.transaction_id, filled.fill.commission) == (11, 0.1)
    assert [type(t) for t in filled.transactions] == [OrderAccepted, OrderFilled]
    halted = result_from_response(
        "c",
        {
            "orderCreateTransaction": tx(10, "MARKET_ORDER", clientExtensions={"id": "c"}),
            "orderCancelTransaction": tx(11, "ORDER_CANCEL", orderID="10", reason="MARKET_HALTED"),
        },
    )
    assert halted.state == "CANCELLED"
    assert isinstance(halted.cancel, OrderCancelled)
    assert halted.cancel.reason == "MARKET_HALTED"
    assert halted.fill is None
