"""Trailing stop loss, market-if-touched and guaranteed stop loss orders in the engine, with
trigger and fill prices worked out by hand (EUR_USD: 5 decimals, a pip is 0.0001)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradewind.testing.venue_market import ManualMarket
from tradewind.venue.engine import DEFAULT_ACCOUNT, MemoryStore, VenueEngine
from tradewind.venue.engine.guaranteed import Guarantees
from tradewind.venue.instruments import default_instruments
from tradewind.venue.wire import VenueError

A = DEFAULT_ACCOUNT
T0 = 1_700_000_000_000_000_000


class Market(ManualMarket):
    def __init__(self) -> None:
        super().__init__(T0, step_ns=1_000_000_000)


@pytest.fixture
def mkt() -> Market:
    m = Market()
    m.set("EUR_USD", 1.1000, 1.1002)
    m.set("USD_JPY", 150.00, 150.02)
    return m


def engine(mkt: Market, store: MemoryStore | None = None, mode: str = "DISABLED") -> VenueEngine:
    guarantees = Guarantees(mode=mode)
    return VenueEngine(default_instruments(), mkt.now, mkt.quotes.get, store, guarantees=guarantees)


def tick(e: VenueEngine, mkt: Market, bid: float, ask: float, inst: str = "EUR_USD") -> None:
    e.on_quote(mkt.set(inst, bid, ask))


def order(e: VenueEngine, **spec: Any) -> dict[str, Any]:
    return e.create_order(A, spec)


def buy(e: VenueEngine, units: str = "1000", **kw: Any) -> str:
    out = order(e, type="MARKET", instrument="EUR_USD", units=units, **kw)
    return str(out["orderFillTransaction"]["tradeOpened"]["tradeID"])


def rejected(fn: Any, *args: Any) -> dict[str, Any]:
    with pytest.raises(VenueError) as info:
        fn(*args)
    return info.value.body()


def trade(e: VenueEngine, tid: str) -> dict[str, Any]:
    return e.get_trade(A, tid)["trade"]


def last_fill(e: VenueEngine) -> dict[str, Any]:
    txs = e.transactions_since(A, 0)["transactions"]
    return [t for t in txs if t["type"] == "ORDER_FILL"][-1]


# ------------------------------------------------------------------ trailing stop loss


def test_trailing_stop_on_a_long_trade_follows_the_bid_up_and_fills_when_it_falls(
    mkt: Market,
) -> None:
    e = engine(mkt)
    tid = buy(e)  # at the ask, 1.10020
    out = order(e, type="TRAILING_STOP_LOSS", tradeID=tid, distance="0.0050")
    tx = out["orderCreateTransaction"]
    assert (tx["type"], tx["distance"], tx["timeInForce"]) == (
        "TRAILING_STOP_LOSS_ORDER", "0.00500", "GTC",
    )  # fmt: skip
    tsl = trade(e, tid)["trailingStopLossOrder"]
    assert tsl["trailingStopValue"] == "1.09500"  # bid 1.1000 - 0.0050
    tick(e, mkt, 1.1030, 1.1032)
    assert trade(e, tid)["trailingStopLossOrder"]["trailingStopValue"] == "1.09800"
    tick(e, mkt, 1.1010, 1.1012)  # the price falls back: the stop stays
    tick(e, mkt, 1.0981, 1.0983)  # above the stop: nothing
    assert trade(e, tid)["state"] == "OPEN"
    assert trade(e, tid)["trailingStopLossOrder"]["trailingStopValue"] == "1.09800"
    tick(e, mkt, 1.0979, 1.0981)  # the bid at or below 1.09800 triggers
    fill = last_fill(e)
    assert (fill["reason"], fill["price"], fill["units"]) == (
        "TRAILING_STOP_LOSS_ORDER", "1.09790", "-1000",
    )  # fmt: skip
    assert fill["pl"] == "-2.3000"  # (1.0979 - 1.1002) x 1000
    assert trade(e, tid)["state"] == "CLOSED"
    assert e.get_order(A, tsl["id"])["order"]["state"] == "FILLED"


def test_trailing_stop_on_a_short_trade_follows_the_ask_down(mkt: Market) -> None:
    e = engine(mkt)
    tid = buy(e, "-1000")  # at the bid, 1.10000
    order(e, type="TRAILING_STOP_LOSS", tradeID=tid, distance="0.0050")
    assert trade(e, tid)["trailingStopLossOrder"]["trailingStopValue"] == "1.10520"  # ask + 50
    tick(e, mkt, 1.0950, 1.0952)
    assert trade(e, tid)["trailingStopLossOrder"]["trailingStopValue"] == "1.10020"
    tick(e, mkt, 1.1000, 1.1001)  # ask below the stop
    assert trade(e, tid)["state"] == "OPEN"
    tick(e, mkt, 1.1001, 1.1003)  # ask 1.1003 >= 1.10020
    fill = last_fill(e)
    assert (fill["reason"], fill["price"], fill["pl"]) == (
        "TRAILING_STOP_LOSS_ORDER", "1.10030", "-0.3000",
    )  # fmt: skip


def test_trailing_stop_on_fill_and_through_the_trade(mkt: Market) -> None:
    e = engine(mkt)
    tid = buy(e, trailingStopLossOnFill={"distance": "0.0020", "clientExtensions": {"id": "t1"}})
    first = trade(e, tid)["trailingStopLossOrder"]
    assert (first["distance"], first["trailingStopValue"]) == ("0.00200", "1.09800")
    assert first["clientExtensions"] == {"id": "t1"}
    # a second one on the trade is refused; replacing it through the trade works
    body = rejected(e.create_order, A, {"type": "TRAILING_STOP_LOSS", "tradeID": tid,
                                        "distance": "0.0030"})  # fmt: skip
    assert body["errorCode"] == "TRAILING_STOP_LOSS_ORDER_ALREADY_EXISTS"
    out = e.set_trade_orders(A, tid, {"trailingStopLoss": {"distance": "0.0030"}})
    assert out["trailingStopLossOrderCancelTransaction"]["orderID"] == first["id"]
    new = out["trailingStopLossOrderTransaction"]
    assert (new["replacesOrderID"], new["reason"]) == (first["id"], "REPLACEMENT")
    assert trade(e, tid)["trailingStopLossOrder"]["trailingStopValue"] == "1.09700"
    out = e.set_trade_orders(A, tid, {"trailingStopLoss": None})
    assert out["trailingStopLossOrderCancelTransaction"]["reason"] == "CLIENT_REQUEST"
    assert "trailingStopLossOrder" not in trade(e, tid)


def test_trailing_stop_distance_outside_the_instruments_range_is_rejected(mkt: Market) -> None:
    e = engine(mkt)
    tid = buy(e)
    spec = {"type": "TRAILING_STOP_LOSS", "tradeID": tid, "distance": "0.0004"}  # < 5 pips
    body = rejected(e.create_order, A, spec)
    assert body["errorCode"] == "PRICE_DISTANCE_MINIMUM_NOT_MET"
    assert body["orderRejectTransaction"]["type"] == "TRAILING_STOP_LOSS_ORDER_REJECT"
    body = rejected(e.create_order, A, {**spec, "distance": "1.5"})
    assert body["errorCode"] == "PRICE_DISTANCE_MAXIMUM_EXCEEDED"
    body = rejected(e.create_order, A, {**spec, "distance": None})
    assert body["errorCode"] == "PRICE_DISTANCE_MISSING"
    mo = {"type": "MARKET", "instrument": "EUR_USD", "units": "10"}
    body = rejected(e.create_order, A, {**mo, "trailingStopLossOnFill": {"distance": "0.0001"}})
    assert body["errorCode"] == "TRAILING_STOP_LOSS_ON_FILL_PRICE_DISTANCE_MINIMUM_NOT_MET"
    body = rejected(
        e.create_order,
        A,
        {**mo, "trailingStopLossOnFill": {"distance": "0.0050", "timeInForce": "FOK"}},
    )
    assert body["errorCode"] == "TRAILING_STOP_LOSS_ON_FILL_TIME_IN_FORCE_INVALID"
    body = rejected(
        e.create_order,
        A,
        {**mo, "trailingStopLossOnFill": {"distance": "0.0050", "timeInForce": "GTD"}},
    )
    assert body["errorCode"] == "TRAILING_STOP_LOSS_ON_FILL_GTD_TIMESTAMP_MISSING"


def test_closing_the_trade_cancels_its_trailing_stop(mkt: Market) -> None:
    e = engine(mkt)
    tid = buy(e, trailingStopLossOnFill={"distance": "0.0020"})
    oid = trade(e, tid)["trailingStopLossOrder"]["id"]
    e.close_trade(A, tid)
    got = e.get_order(A, oid)["order"]
    assert got["state"] == "CANCELLED"
    assert e.transactions_since(A, 0)["transactions"][-1]["reason"] == "LINKED_TRADE_CLOSED"


# ------------------------------------------------------------------ market if touched


def test_market_if_touched_below_the_market_acts_as_a_limit(mkt: Market) -> None:
    e = engine(mkt)
    out = order(e, type="MARKET_IF_TOUCHED", instrument="EUR_USD", units="1000", price="1.0950",
                stopLossOnFill={"distance": "0.0040"},
                trailingStopLossOnFill={"distance": "0.0030"})  # fmt: skip
    oid = out["orderCreateTransaction"]["id"]
    assert out["orderCreateTransaction"]["type"] == "MARKET_IF_TOUCHED_ORDER"
    pending = e.get_order(A, oid)["order"]
    assert (pending["type"], pending["initialMarketPrice"]) == ("MARKET_IF_TOUCHED", "1.10020")
    assert (pending["timeInForce"], pending["positionFill"]) == ("GTC", "DEFAULT")
    tick(e, mkt, 1.0958, 1.0960)  # the ask not yet down to 1.0950
    assert e.get_order(A, oid)["order"]["state"] == "PENDING"
    tick(e, mkt, 1.0947, 1.0949)
    fill = last_fill(e)
    assert (fill["reason"], fill["price"], fill["units"]) == (
        "MARKET_IF_TOUCHED_ORDER", "1.09490", "1000",
    )  # fmt: skip
    t = trade(e, fill["tradeOpened"]["tradeID"])
    assert t["stopLossOrder"]["price"] == "1.09090"  # fill 1.0949 - 0.0040
    assert t["trailingStopLossOrder"]["trailingStopValue"] == "1.09170"  # bid 1.0947 - 0.0030


def test_market_if_touched_above_the_market_acts_as_a_stop_and_keeps_its_bound(
    mkt: Market,
) -> None:
    e = engine(mkt)
    sell = order(e, type="MARKET_IF_TOUCHED", instrument="EUR_USD", units="-1000",
                 price="1.1050")["orderCreateTransaction"]  # fmt: skip
    assert e.get_order(A, sell["id"])["order"]["initialMarketPrice"] == "1.10000"  # the bid
    tick(e, mkt, 1.1049, 1.1051)
    assert e.get_order(A, sell["id"])["order"]["state"] == "PENDING"
    tick(e, mkt, 1.1050, 1.1052)
    assert last_fill(e)["price"] == "1.10500"
    bounded = order(e, type="MARKET_IF_TOUCHED", instrument="EUR_USD", units="1000",
                    price="1.1100", priceBound="1.1101")["orderCreateTransaction"]  # fmt: skip
    tick(e, mkt, 1.1103, 1.1105)  # touched, but the ask is past the bound
    assert e.get_order(A, bounded["id"])["order"]["state"] == "CANCELLED"
    assert e.transactions_since(A, 0)["transactions"][-1]["reason"] == "BOUNDS_VIOLATION"


def test_market_if_touched_rejects_what_v20_rejects(mkt: Market) -> None:
    e = engine(mkt)
    spec = {"type": "MARKET_IF_TOUCHED", "instrument": "EUR_USD", "units": "10"}
    body = rejected(e.create_order, A, spec)
    assert body["errorCode"] == "PRICE_MISSING"
    assert body["orderRejectTransaction"]["type"] == "MARKET_IF_TOUCHED_ORDER_REJECT"
    body = rejected(e.create_order, A, {**spec, "price": "1.1", "timeInForce": "FOK"})
    assert body["errorCode"] == "TIME_IN_FORCE_INVALID"


# ------------------------------------------------------------------ guaranteed stop loss


def test_guaranteed_stop_losses_are_refused_while_the_mode_is_disabled(mkt: Market) -> None:
    e = engine(mkt)
    assert e.get_summary(A)["account"]["guaranteedStopLossOrderMode"] == "DISABLED"
    tid = buy(e)
    spec = {"type": "STOP_LOSS", "tradeID": tid, "price": "1.0900", "guaranteed": True}
    body = rejected(e.create_order, A, spec)
    assert body["errorCode"] == "STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED"
    mo = {"type": "MARKET", "instrument": "EUR_USD", "units": "10"}
    body = rejected(e.create_order, A, {**mo, "guaranteedStopLossOnFill": {"distance": "0.01"}})
    assert body["errorCode"] == "STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED"


def test_a_guaranteed_stop_fills_at_its_price_through_a_gap_and_charges_the_premium(
    mkt: Market,
) -> None:
    store = MemoryStore()
    e = engine(mkt, store, mode="ALLOWED")
    assert e.get_summary(A)["account"]["guaranteedStopLossOrderMode"] == "ALLOWED"
    tid = buy(e, "10000")  # at 1.10020
    plain = buy(e, "10000")
    out = e.set_trade_orders(A, tid, {"stopLoss": {"price": "1.0950", "guaranteed": True}})
    sl = out["stopLossOrderTransaction"]
    assert (sl["guaranteed"], sl["guaranteedExecutionPremium"]) == (True, "0.00050")  # 5 pips
    e.set_trade_orders(A, plain, {"stopLoss": {"price": "1.0950"}})
    assert trade(e, plain)["stopLossOrder"]["guaranteed"] is False
    tick(e, mkt, 1.0900, 1.0902)  # the market gaps 50 pips through both stops
    fills = [t for t in e.transactions_since(A, 0)["transactions"] if t["type"] == "ORDER_FILL"]
    gsl, ordinary = fills[-2], fills[-1]
    assert (gsl["price"], gsl["reason"]) == ("1.09500", "STOP_LOSS_ORDER")
    assert gsl["pl"] == "-52.0000"  # (1.0950 - 1.1002) x 10000
    assert gsl["guaranteedExecutionFee"] == "5.0000"  # 0.0005 x 10000 x 1 (USD)
    assert gsl["tradesClosed"][0]["guaranteedExecutionFee"] == "5.0000"
    assert gsl["accountBalance"] == "99943.0000"  # 100000 - 52 - 5
    assert (ordinary["price"], ordinary["pl"]) == ("1.09000", "-102.0000")  # filled at market
    assert ordinary["guaranteedExecutionFee"] == "0.0000"
    summary = e.get_summary(A)["account"]
    assert summary["balance"] == "99841.0000"  # 99943 - 102
    assert summary["guaranteedExecutionFees"] == "5.0000"
    again = engine(mkt, store, mode="ALLOWED")  # replayed from the store
    assert again.get_summary(A)["account"] == summary


def test_guaranteed_stop_rules_minimum_distance_required_mode_and_later_v20_names(
    mkt: Market,
) -> None:
    e = engine(mkt, mode="REQUIRED")
    tid = buy(e)
    spec = {"type": "STOP_LOSS", "tradeID": tid, "price": "1.0995"}  # 5 pips from the bid
    body = rejected(e.create_order, A, spec)
    assert body["errorCode"] == "STOP_LOSS_ORDER_GUARANTEED_MINIMUM_DISTANCE_NOT_MET"
    body = rejected(e.create_order, A, {**spec, "price": "1.0900", "guaranteed": False})
    assert body["errorCode"] == "STOP_LOSS_ORDER_GUARANTEED_REQUIRED"
    made = e.create_order(A, {**spec, "price": "1.0990"})["orderCreateTransaction"]
    assert made["guaranteed"] is True  # REQUIRED: guaranteed by default
    mo = {"type": "MARKET", "instrument": "EUR_USD", "units": "100"}
    body = rejected(e.create_order, A, {**mo, "stopLossOnFill": {"distance": "0.0005"}})
    assert body["errorCode"] == "STOP_LOSS_ON_FILL_GUARANTEED_MINIMUM_DISTANCE_NOT_MET"
    out = e.create_order(A, {**mo, "guaranteedStopLossOnFill": {"distance": "0.0050"}})
    t = trade(e, out["orderFillTransaction"]["tradeOpened"]["tradeID"])
    assert (t["stopLossOrder"]["price"], t["stopLossOrder"]["guaranteed"]) == ("1.09520", True)
    assert t["stopLossOrder"]["guaranteedExecutionPremium"] == "0.00050"
    other = buy(e)
    out = e.create_order(A, {"type": "GUARANTEED_STOP_LOSS", "tradeID": other, "price": "1.09"})
    assert out["orderCreateTransaction"]["type"] == "STOP_LOSS_ORDER"
    assert out["orderCreateTransaction"]["guaranteed"] is True


def test_guaranteed_fee_is_converted_to_the_account_currency(mkt: Market) -> None:
    e = engine(mkt, mode="ALLOWED")
    out = order(e, type="MARKET", instrument="USD_JPY", units="1000",
                stopLossOnFill={"price": "149.000", "guaranteed": True})  # fmt: skip
    tid = out["orderFillTransaction"]["tradeOpened"]["tradeID"]
    assert trade(e, tid)["stopLossOrder"]["guaranteedExecutionPremium"] == "0.050"  # 5 pips
    tick(e, mkt, 148.00, 148.02, "USD_JPY")
    fill = last_fill(e)
    assert fill["price"] == "149.000"
    # 0.050 JPY x 1000 at the mid 148.01 JPY per USD
    expected = Decimal("0.050") * 1000 / Decimal("148.01")
    assert fill["guaranteedExecutionFee"] == str(expected.quantize(Decimal("0.0001")))


def test_instruments_list_their_guaranteed_stop_terms(mkt: Market) -> None:
    e = engine(mkt)
    eur = e.get_instruments(A, ["EUR_USD"])["instruments"][0]
    assert eur["guaranteedStopLossOrderExecutionPremium"] == "0.00050"
    assert eur["minimumGuaranteedStopLossDistance"] == "0.00100"
    custom = Guarantees(premiums={"EUR_USD": Decimal("0.0003")})
    e2 = VenueEngine(default_instruments(), mkt.now, mkt.quotes.get, guarantees=custom)
    eur = e2.get_instruments(A, ["EUR_USD"])["instruments"][0]
    assert eur["guaranteedStopLossOrderExecutionPremium"] == "0.00030"
    with pytest.raises(ValueError, match="guaranteedStopLossOrderMode"):
        Guarantees(mode="ENABLED")
