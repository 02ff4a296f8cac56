"""Numbers in request bodies: v20's DecimalNumber text only (ASCII digits, optional '-' and
fraction; no exponent, whitespace or '+'), and every price, bound, distance and quantity in
range, refused with the field's v20 reject reason (a 400), never a crash."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradewind.venue.engine import DEFAULT_ACCOUNT, VenueEngine, numbers
from tradewind.venue.instruments import default_instruments
from tradewind.venue.quotes import Quote
from tradewind.venue.wire import VenueError

A = DEFAULT_ACCOUNT
T0 = 1_700_000_000_000_000_000
NOT_DECIMAL = [
    "١٠٠",  # Arabic-Indic digits
    "１００",  # full-width digits
    "1e3",
    "1E3",
    " 100 ",
    "100 ",
    "\t100",
    "+100",
    "1_000",
    "1,000",
    ".5",
    "5.",
    "--5",
    "0x10",
    "NaN",
    "Infinity",
    "",
    "-",
    "9" * 41,
    1e28,
    float("nan"),
    float("inf"),
    10**40,
    True,
    None,
    [1],
    {"v": 1},
]


@pytest.mark.parametrize("value", NOT_DECIMAL, ids=repr)
def test_only_decimal_number_text_is_a_number(value: Any) -> None:
    assert numbers.decimal_number(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("100", "100"), ("-100", "-100"), ("0.5", "0.5"), ("007", "7"), (100, "100"), (1.5, "1.5")],
)
def test_decimal_numbers_and_plain_json_numbers_are_taken(value: Any, expected: str) -> None:
    assert numbers.decimal_number(value) == Decimal(expected)


def test_ranges() -> None:
    assert numbers.price("1000000000") == Decimal("1e9")
    assert numbers.price("1000000000.1") is None
    assert numbers.price("0") is None
    assert numbers.price("-1") is None
    assert numbers.units("-5") == Decimal(-5)
    assert numbers.units("0") is None
    assert numbers.units("1" + "0" * 15) is None
    assert numbers.positive_units("-5") is None
    assert numbers.positive_units("5") == 5
    assert numbers.distance_reason("0.005") is None
    assert numbers.distance_reason("0") == "INVALID"
    assert numbers.distance_reason("1e3") == "INVALID"
    assert numbers.distance_reason("1" + "0" * 28) == "MAXIMUM_EXCEEDED"


# ------------------------------------------------------------------ through the engine

HUGE = "1" + "0" * 28  # 1e28 written out: a DecimalNumber, but no price


@pytest.fixture
def eng() -> VenueEngine:
    quotes = {
        n: Quote(n, T0, ((b, 1e7),), ((b + 0.0002, 1e7),), True)
        for n, b in (("EUR_USD", 1.1), ("USD_JPY", 150.0))
    }
    return VenueEngine(default_instruments(), lambda: T0, quotes.get, None)


def _rejected(call: Any) -> dict[str, Any]:
    with pytest.raises(VenueError) as err:
        call()
    assert err.value.status == 400
    return err.value.body()


BAD_ORDERS: list[tuple[str, dict[str, Any], str]] = [
    ("limit price", {"type": "LIMIT", "price": HUGE}, "PRICE_INVALID"),
    ("limit price 1e28", {"type": "LIMIT", "price": "1e28"}, "PRICE_INVALID"),
    ("price bound", {"priceBound": HUGE}, "PRICE_BOUND_INVALID"),
    ("tp on fill", {"takeProfitOnFill": {"price": HUGE}}, "TAKE_PROFIT_ON_FILL_PRICE_INVALID"),
    ("sl on fill", {"stopLossOnFill": {"price": HUGE}}, "STOP_LOSS_ON_FILL_PRICE_INVALID"),
    (
        "sl distance",
        {"stopLossOnFill": {"distance": HUGE}},
        "STOP_LOSS_ON_FILL_PRICE_DISTANCE_MAXIMUM_EXCEEDED",
    ),
    (
        "sl distance exp",
        {"stopLossOnFill": {"distance": "1e-3"}},
        "STOP_LOSS_ON_FILL_DISTANCE_INVALID",
    ),
    (
        "sl distance places",
        {"stopLossOnFill": {"distance": "0.0000001"}},
        "STOP_LOSS_ON_FILL_DISTANCE_PRECISION_EXCEEDED",
    ),
    ("arabic units", {"units": "١٠٠"}, "UNITS_INVALID"),
    ("exponent units", {"units": "1e3"}, "UNITS_INVALID"),
    ("spaced units", {"units": " 100 "}, "UNITS_INVALID"),
    ("plus units", {"units": "+100"}, "UNITS_INVALID"),
    ("huge units", {"units": HUGE}, "UNITS_LIMIT_EXCEEDED"),
]


@pytest.mark.parametrize(("what", "fields", "code"), BAD_ORDERS, ids=[b[0] for b in BAD_ORDERS])
def test_out_of_range_or_malformed_order_numbers_are_rejected(
    eng: VenueEngine, what: str, fields: dict[str, Any], code: str
) -> None:
    before = eng.get_summary(A)["account"]["lastTransactionID"]
    order = {"type": "MARKET", "instrument": "EUR_USD", "units": "100", **fields}
    body = _rejected(lambda: eng.create_order(A, order))
    assert body["errorCode"] == code, body
    assert body["errorMessage"]
    reject = body["orderRejectTransaction"]
    assert reject["rejectReason"] == code
    # only the reject transaction was added: no order, no trade
    assert int(eng.get_summary(A)["account"]["lastTransactionID"]) == int(before) + 1
    assert eng.list_orders(A, state="ALL", count=500)["orders"] == []


def test_trade_orders_and_closes_hold_to_the_same_rules(eng: VenueEngine) -> None:
    fill = eng.create_order(A, {"type": "MARKET", "instrument": "EUR_USD", "units": "100"})
    tid = fill["orderFillTransaction"]["tradeOpened"]["tradeID"]
    body = _rejected(lambda: eng.set_trade_orders(A, tid, {"takeProfit": {"price": HUGE}}))
    assert body["errorCode"] == "PRICE_INVALID"
    body = _rejected(lambda: eng.set_trade_orders(A, tid, {"stopLoss": {"distance": HUGE}}))
    assert body["errorCode"] == "PRICE_DISTANCE_MAXIMUM_EXCEEDED"
    for units in ("١٠", "1e1", " 10", HUGE):
        body = _rejected(lambda u=units: eng.close_trade(A, tid, u))  # type: ignore[misc]
        assert body["errorCode"] in (
            "CLOSE_TRADE_PARTIAL_UNITS_MISSING",
            "CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE",
        ), (units, body)
        body = _rejected(
            lambda u=units: eng.close_position(A, "EUR_USD", {"longUnits": u})  # type: ignore[misc]
        )
        assert body["errorCode"] == "CLOSEOUT_POSITION_PARTIAL_UNITS_MISSING", (units, body)
    # the trade is untouched and still closes normally
    assert eng.get_trade(A, tid)["trade"]["currentUnits"] == "100"
    assert eng.close_trade(A, tid, "40")["orderFillTransaction"]["tradeReduced"]["units"] == "-40"
