"""The venue's matching engine, driven directly: fills, netting and hedging, order types,
take profit / stop loss, margin, halts, replace/cancel, ids and replay."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradewind.testing.venue_market import ManualMarket
from tradewind.venue.engine import DEFAULT_ACCOUNT, MemoryStore, VenueEngine
from tradewind.venue.instruments import default_instruments
from tradewind.venue.wire import VenueError

A = DEFAULT_ACCOUNT
ORDER_KEYS = [
    "order", "type", "instrument", "units", "price", "priceBound", "timeInForce", "gtdTime",
    "positionFill", "triggerCondition", "clientExtensions", "takeProfitOnFill",
    "stopLossOnFill", "tradeClientExtensions", "distance", "tradeID", "id", "tag", "comment",
    "takeProfit", "stopLoss", "longUnits", "shortUnits", "longClientExtensions",
]  # fmt: skip
T0 = 1_700_000_000_000_000_000


class Market(ManualMarket):
    def __init__(self) -> None:
        super().__init__(T0)


@pytest.fixture
def mkt() -> Market:
    m = Market()
    m.set("EUR_USD", 1.1000, 1.1002)
    m.set("USD_JPY", 150.00, 150.02)
    return m


def engine(mkt: Market, store: MemoryStore | None = None, **kw: Any) -> VenueEngine:
    return VenueEngine(default_instruments(), mkt.now, mkt.quotes.get, store, **kw)


@pytest.fixture
def eng(mkt: Market) -> VenueEngine:
    return engine(mkt)


def market(e: VenueEngine, units: str, inst: str = "EUR_USD", **kw: Any) -> dict[str, Any]:
    return e.create_order(A, {"type": "MARKET", "instrument": inst, "units": units, **kw})


def reject(fn: Any, *args: Any) -> VenueError:
    with pytest.raises(VenueError) as info:
        fn(*args)
    return info.value


def summary(e: VenueEngine) -> dict[str, Any]:
    return e.get_summary(A)["account"]


def open_units(e: VenueEngine, inst: str = "EUR_USD") -> list[str]:
    return [t["currentUnits"] for t in e.list_trades(A, instrument=inst)["trades"]][::-1]


def test_account_is_opened_funded_on_first_start(eng: VenueEngine) -> None:
    acct = summary(eng)
    assert eng.list_accounts() == {"accounts": [{"id": A, "tags": []}]}
    assert (acct["currency"], acct["balance"], acct["NAV"]) == ("USD", "100000.0000", "100000.0000")
    txs = eng.transactions_since(A, 0)["transactions"]
    assert [t["type"] for t in txs] == ["CREATE", "TRANSFER_FUNDS"]


def test_buy_fills_at_ask_sell_at_bid_and_ids_are_monotonic(eng: VenueEngine) -> None:
    buy = market(eng, "1000")
    fill = buy["orderFillTransaction"]
    assert fill["price"] == "1.10020"
    assert fill["units"] == "1000"
    assert fill["tradeOpened"]["tradeID"] == fill["id"]
    sell = market(eng, "-1000")["orderFillTransaction"]
    assert sell["price"] == "1.10000"
    assert sell["tradesClosed"][0]["tradeID"] == fill["id"]
    assert sell["pl"] == "-0.2000"
    assert sell["accountBalance"] == "99999.8000"
    ids = [int(t["id"]) for t in eng.transactions_since(A, 0)["transactions"]]
    assert ids == list(range(1, len(ids) + 1))
    assert buy["relatedTransactionIDs"] == [buy["orderCreateTransaction"]["id"], fill["id"]]


def test_fill_walks_the_levels_at_their_vwap(mkt: Market, eng: VenueEngine) -> None:
    mkt.set("EUR_USD", 1.1, 1.1002, asks=((1.1002, 1000), (1.1004, 1000)))
    fill = market(eng, "1500")["orderFillTransaction"]
    assert Decimal(fill["price"]) == Decimal("1.10027")  # (1000*1.1002 + 500*1.1004) / 1500


def test_fok_short_of_liquidity_is_cancelled_ioc_fills_part(mkt: Market, eng: VenueEngine) -> None:
    mkt.set("EUR_USD", 1.1, 1.1002, liq=1000)
    out = market(eng, "5000")
    assert "orderFillTransaction" not in out
    assert out["orderCancelTransaction"]["reason"] == "INSUFFICIENT_LIQUIDITY"
    out = market(eng, "5000", timeInForce="IOC")
    assert out["orderFillTransaction"]["units"] == "1000"
    assert out["orderCancelTransaction"]["reason"] == "INSUFFICIENT_LIQUIDITY"
    assert open_units(eng) == ["1000"]


def test_price_bound_violation_cancels(eng: VenueEngine) -> None:
    out = market(eng, "1000", priceBound="1.1001")
    assert out["orderCancelTransaction"]["reason"] == "BOUNDS_VIOLATION"
    assert market(eng, "1000", priceBound="1.1003")["orderFillTransaction"]["price"] == "1.10020"


def test_netting_reduces_fifo_then_opens_the_rest(eng: VenueEngine) -> None:
    first = market(eng, "1000")["orderFillTransaction"]["id"]
    second = market(eng, "500")["orderFillTransaction"]["id"]
    fill = market(eng, "-1200")["orderFillTransaction"]
    assert [c["tradeID"] for c in fill["tradesClosed"]] == [first]
    assert fill["tradeReduced"]["tradeID"] == second
    assert fill["tradeReduced"]["units"] == "-200"
    assert open_units(eng) == ["300"]
    fill = market(eng, "-1000")["orderFillTransaction"]
    assert fill["tradesClosed"][0]["units"] == "-300"
    assert fill["tradeOpened"]["units"] == "-700"
    pos = eng.get_position(A, "EUR_USD")["position"]
    assert (pos["long"]["units"], pos["short"]["units"]) == ("0", "-700")


def test_hedging_keeps_both_sides(mkt: Market) -> None:
    e = engine(mkt, hedging=True)
    market(e, "1000")
    market(e, "-400")
    assert sorted(open_units(e)) == ["-400", "1000"]
    pos = e.get_position(A, "EUR_USD")["position"]
    assert (pos["long"]["units"], pos["short"]["units"]) == ("1000", "-400")
    assert summary(e)["hedgingEnabled"] is True
    fill = market(e, "-400", positionFill="REDUCE_FIRST")["orderFillTransaction"]
    assert fill["tradeReduced"]["units"] == "-400"  # reduces the long, in FIFO order


def test_position_fill_modes(eng: VenueEngine) -> None:
    out = market(eng, "-100", positionFill="REDUCE_ONLY")
    assert out["orderCancelTransaction"]["reason"] == "POSITION_CLOSEOUT_FAILED"
    market(eng, "1000")
    out = market(eng, "-100", positionFill="OPEN_ONLY")
    assert out["orderCancelTransaction"]["reason"] == "FIFO_VIOLATION"
    fill = market(eng, "-1500", positionFill="REDUCE_ONLY")["orderFillTransaction"]
    assert fill["units"] == "-1000"
    assert "tradeOpened" not in fill
    assert open_units(eng) == []


def test_limit_and_stop_trigger_on_quotes(mkt: Market, eng: VenueEngine) -> None:
    limit = eng.create_order(
        A, {"type": "LIMIT", "instrument": "EUR_USD", "units": "1000", "price": "1.0990"}
    )
    stop = eng.create_order(
        A, {"type": "STOP", "instrument": "EUR_USD", "units": "-1000", "price": "1.0950"}
    )
    assert "orderFillTransaction" not in limit | stop
    lid, sid = limit["orderCreateTransaction"]["id"], stop["orderCreateTransaction"]["id"]
    assert {o["id"] for o in eng.list_orders(A)["orders"]} == {lid, sid}
    eng.on_quote(mkt.set("EUR_USD", 1.0988, 1.0990))
    assert eng.get_order(A, lid)["order"]["state"] == "FILLED"
    assert eng.get_order(A, sid)["order"]["state"] == "PENDING"
    eng.on_quote(mkt.set("EUR_USD", 1.0950, 1.0952))
    order = eng.get_order(A, sid)["order"]
    assert order["state"] == "FILLED"
    assert "fillingTransactionID" in order
    fill = eng.get_transaction(A, order["fillingTransactionID"])["transaction"]
    assert fill["reason"] == "STOP_ORDER"
    assert fill["price"] == "1.09500"
    assert open_units(eng) == []  # the stop closed the limit's trade (netting)


def test_marketable_limit_fills_at_once_and_gtd_expires(mkt: Market, eng: VenueEngine) -> None:
    out = eng.create_order(
        A, {"type": "LIMIT", "instrument": "EUR_USD", "units": "10", "price": "1.2000"}
    )
    assert out["orderFillTransaction"]["price"] == "1.10020"  # at the market, not the limit
    out = eng.create_order(
        A,
        {
            "type": "LIMIT",
            "instrument": "EUR_USD",
            "units": "10",
            "price": "1.0000",
            "timeInForce": "GTD",
            "gtdTime": "2023-11-14T22:14:00Z",
        },
    )
    oid = out["orderCreateTransaction"]["id"]
    mkt.t += 120 * 10**9
    eng.on_quote(mkt.set("EUR_USD", 1.1, 1.1002))
    order = eng.get_order(A, oid)["order"]
    assert order["state"] == "CANCELLED"
    cancel = eng.get_transaction(A, order["cancellingTransactionID"])["transaction"]
    assert cancel["reason"] == "TIME_IN_FORCE_EXPIRED"
    past = reject(
        eng.create_order,
        A,
        {
            "type": "LIMIT",
            "instrument": "EUR_USD",
            "units": "1",
            "price": "1.0",
            "timeInForce": "GTD",
            "gtdTime": "2020-01-01T00:00:00Z",
        },
    )
    assert past.code == "TIME_IN_FORCE_GTD_TIMESTAMP_IN_PAST"


def test_take_profit_closes_the_trade_and_cancels_its_stop_loss(
    mkt: Market, eng: VenueEngine
) -> None:
    out = market(
        eng,
        "1000",
        takeProfitOnFill={"price": "1.1050"},
        stopLossOnFill={"distance": "0.0050"},
        tradeClientExtensions={"id": "my-trade"},
    )
    tid = out["orderFillTransaction"]["tradeOpened"]["tradeID"]
    trade = eng.get_trade(A, "@my-trade")["trade"]
    assert trade["id"] == tid
    assert trade["takeProfitOrder"]["price"] == "1.10500"
    assert trade["stopLossOrder"]["price"] == "1.09520"  # 1.1002 - 0.0050
    eng.on_quote(mkt.set("EUR_USD", 1.1051, 1.1053))
    trade = eng.get_trade(A, tid)["trade"]
    assert trade["state"] == "CLOSED"
    assert trade["realizedPL"] == "4.9000"
    types = [t["type"] for t in eng.transactions_since(A, int(tid))["transactions"]]
    assert types == ["TAKE_PROFIT_ORDER", "STOP_LOSS_ORDER", "ORDER_FILL", "ORDER_CANCEL"]
    last = eng.transactions_since(A, 0)["transactions"][-1]
    assert last["reason"] == "LINKED_TRADE_CLOSED"


def test_stop_loss_on_a_short_and_trade_orders_replace(mkt: Market, eng: VenueEngine) -> None:
    tid = market(eng, "-1000")["orderFillTransaction"]["tradeOpened"]["tradeID"]
    out = eng.set_trade_orders(A, tid, {"stopLoss": {"price": "1.1100"}})
    first = out["stopLossOrderTransaction"]["id"]
    out = eng.set_trade_orders(A, tid, {"stopLoss": {"price": "1.1050"}})
    assert out["stopLossOrderCancelTransaction"]["orderID"] == first
    assert out["stopLossOrderTransaction"]["replacesOrderID"] == first
    eng.on_quote(mkt.set("EUR_USD", 1.1049, 1.1051))
    assert eng.get_trade(A, tid)["trade"]["state"] == "CLOSED"
    fill = eng.transactions_since(A, 0)["transactions"][-1]
    assert fill["type"] == "ORDER_FILL"
    assert fill["reason"] == "STOP_LOSS_ORDER"


def test_order_exceeding_margin_is_cancelled(eng: VenueEngine) -> None:
    out = market(eng, "5000000")  # 5M x 1.1001 x 3.33% = 183k of margin > 100k NAV
    assert out["orderCancelTransaction"]["reason"] == "INSUFFICIENT_MARGIN"
    assert open_units(eng) == []
    assert market(eng, "2000000")["orderFillTransaction"]["units"] == "2000000"


def test_a_triggered_limit_beyond_margin_is_cancelled(mkt: Market, eng: VenueEngine) -> None:
    spec = {"type": "LIMIT", "instrument": "EUR_USD", "units": "5000000", "price": "1.0990"}
    oid = eng.create_order(A, spec)["orderCreateTransaction"]["id"]
    eng.on_quote(mkt.set("EUR_USD", 1.0988, 1.0990))
    order = eng.get_order(A, oid)["order"]
    cancel = eng.get_transaction(A, order["cancellingTransactionID"])["transaction"]
    assert cancel["reason"] == "INSUFFICIENT_MARGIN"


def test_margin_closeout_when_nav_falls_to_half_the_margin(mkt: Market, eng: VenueEngine) -> None:
    market(eng, "2500000")
    eng.on_quote(mkt.set("EUR_USD", 1.0900, 1.0902))  # NAV ~74.5k, margin ~90.7k: open
    assert open_units(eng) == ["2500000"]
    assert Decimal(summary(eng)["marginCloseoutPercent"]) < 1
    eng.on_quote(mkt.set("EUR_USD", 1.0780, 1.0782))  # NAV ~44.5k <= margin/2 ~44.9k
    assert open_units(eng) == []
    txs = eng.transactions_since(A, 0)["transactions"]
    closeout = [t for t in txs if t.get("reason") == "MARGIN_CLOSEOUT"]
    assert closeout
    assert closeout[0]["type"] == "MARKET_ORDER"
    assert txs[-1]["reason"] == "MARKET_ORDER_MARGIN_CLOSEOUT"
    assert txs[-1]["orderID"] == closeout[0]["id"]
    assert txs[-1]["tradesClosed"][0]["units"] == "-2500000"
    assert summary(eng)["balance"] == "44500.0000"


def test_halted_market_cancels_and_no_price_rejects(mkt: Market, eng: VenueEngine) -> None:
    mkt.set("EUR_USD", 1.1, 1.1002, tradeable=False)
    out = market(eng, "100")
    assert out["orderCancelTransaction"]["reason"] == "MARKET_HALTED"
    err = reject(market, eng, "100", "GBP_USD")
    assert err.status == 400
    assert err.code == "INSTRUMENT_PRICE_UNKNOWN"
    assert err.extra["orderRejectTransaction"]["type"] == "MARKET_ORDER_REJECT"
    assert err.extra["lastTransactionID"] == err.extra["orderRejectTransaction"]["id"]


def test_replace_and_cancel(eng: VenueEngine) -> None:
    spec = {"type": "LIMIT", "instrument": "EUR_USD", "units": "100", "price": "1.0500"}
    oid = eng.create_order(A, {**spec, "clientExtensions": {"id": "c1"}})["orderCreateTransaction"][
        "id"
    ]
    out = eng.replace_order(A, "@c1", {**spec, "price": "1.0600", "clientExtensions": {"id": "c1"}})
    new = out["orderCreateTransaction"]
    assert out["orderCancelTransaction"]["replacedByOrderID"] == new["id"]
    assert new["replacesOrderID"] == oid
    assert new["reason"] == "REPLACEMENT"
    assert eng.get_order(A, oid)["order"]["state"] == "CANCELLED"
    assert eng.get_order(A, "@c1")["order"]["id"] == new["id"]
    cancel = eng.cancel_order(A, new["id"])["orderCancelTransaction"]
    assert cancel["reason"] == "CLIENT_REQUEST"
    err = reject(eng.cancel_order, A, new["id"])
    assert err.status == 404
    assert err.code == "ORDER_DOESNT_EXIST"
    assert reject(eng.get_order, A, "999").status == 404
    assert reject(eng.get_order, A, "@nope").status == 404
    assert reject(eng.get_order, "1-2-3-4", "1").status == 404


def test_client_order_id_is_unique(eng: VenueEngine) -> None:
    market(eng, "1", clientExtensions={"id": "x"})
    with pytest.raises(VenueError) as info:
        market(eng, "1", clientExtensions={"id": "x"})
    assert info.value.code == "CLIENT_ORDER_ID_ALREADY_EXISTS"


def test_trade_close_partial_and_all_and_position_close(eng: VenueEngine) -> None:
    tid = market(eng, "1000")["orderFillTransaction"]["tradeOpened"]["tradeID"]
    out = eng.close_trade(A, tid, "400")
    assert out["orderCreateTransaction"]["reason"] == "TRADE_CLOSE"
    assert out["orderFillTransaction"]["tradeReduced"]["units"] == "-400"
    assert reject(eng.close_trade, A, tid, "700").code == "CLOSE_TRADE_UNITS_EXCEED_TRADE_SIZE"
    out = eng.close_trade(A, tid)
    assert out["orderFillTransaction"]["tradesClosed"][0]["units"] == "-600"
    assert reject(eng.close_trade, A, tid).status == 404
    market(eng, "300")
    market(eng, "200")
    out = eng.close_position(A, "EUR_USD", {"longUnits": "ALL"})
    assert out["longOrderFillTransaction"]["units"] == "-500"
    assert out["longOrderFillTransaction"]["reason"] == "MARKET_ORDER_POSITION_CLOSEOUT"
    err = reject(eng.close_position, A, "EUR_USD", {"longUnits": "ALL"})
    assert err.code == "CLOSEOUT_POSITION_DOESNT_EXIST"
    assert eng.list_positions(A, open_only=True)["positions"] == []
    assert [p["instrument"] for p in eng.list_positions(A)["positions"]] == ["EUR_USD"]


def test_pl_in_a_quote_currency_is_converted_to_usd(mkt: Market, eng: VenueEngine) -> None:
    market(eng, "10000", "USD_JPY")
    mkt.set("USD_JPY", 151.00, 151.02)
    fill = market(eng, "-10000", "USD_JPY")["orderFillTransaction"]
    # (151.00 - 150.02) x 10000 JPY at 1/151.01 USD per JPY
    assert fill["pl"] == "64.8964"
    assert Decimal(fill["gainQuoteHomeConversionFactor"]) == Decimal("0.00662208")


def test_changes_since_a_transaction(eng: VenueEngine) -> None:
    last = int(eng.last_transaction_id(A))
    market(eng, "100")
    changes = eng.get_changes(A, last)
    assert len(changes["changes"]["tradesOpened"]) == 1
    assert len(changes["changes"]["ordersFilled"]) == 1
    assert [t["type"] for t in changes["changes"]["transactions"]] == ["MARKET_ORDER", "ORDER_FILL"]
    assert changes["state"]["trades"][0]["id"] == changes["changes"]["tradesOpened"][0]["id"]


def test_transaction_pages_ranges_and_types(eng: VenueEngine) -> None:
    for _ in range(3):
        market(eng, "10")
    pages = eng.transaction_pages(A, page_size=3)
    assert pages["count"] == 8
    assert pages["pages"] == [(1, 3), (4, 6), (7, 8)]
    fills = eng.transactions_range(A, 1, 100, ["ORDER_FILL"])["transactions"]
    assert len(fills) == 3
    assert len(eng.transaction_pages(A, types=["ORDER"])["pages"]) == 1
    assert reject(eng.get_transaction, A, "99").status == 404


def test_rejects_are_transactions_and_state_replays(mkt: Market) -> None:
    store = MemoryStore()
    e1 = engine(mkt, store)
    market(e1, "1000", clientExtensions={"id": "o1"})
    e1.create_order(
        A, {"type": "LIMIT", "instrument": "EUR_USD", "units": "-50", "price": "1.2000"}
    )
    reject(market, e1, "abc")
    before = e1.get_account(A)
    e2 = engine(mkt, store)
    assert e2.get_account(A) == before
    assert e2.get_order(A, "@o1")["order"]["state"] == "FILLED"
    nxt = market(e2, "1")["orderCreateTransaction"]["id"]
    assert int(nxt) == int(before["lastTransactionID"]) + 1


def test_a_failed_write_leaves_the_state_as_stored(mkt: Market) -> None:
    class Flaky(MemoryStore):
        fail = False

        def append(self, accounts: Any, transactions: Any) -> None:
            if self.fail:
                raise OSError("disk full")
            super().append(accounts, transactions)

    store = Flaky()
    e = engine(mkt, store)
    before = e.get_account(A)
    store.fail = True
    with pytest.raises(OSError, match="disk full"):
        market(e, "1000")
    assert e.get_account(A) == before


def test_subscribers_get_each_stored_transaction(eng: VenueEngine) -> None:
    seen: list[str] = []
    stop = eng.subscribe(lambda account, tx: seen.append(tx["type"]))
    market(eng, "1")
    stop()
    market(eng, "1")
    assert seen == ["MARKET_ORDER", "ORDER_FILL"]


GARBAGE: list[Any] = [
    None, 1, "x", [], {}, {"type": "WHAT"}, {"type": 5}, {"type": "MARKET"},
    {"type": "MARKET", "instrument": "EUR_USD"},
    {"type": "MARKET", "instrument": "NOPE_XX", "units": "1"},
    {"type": "MARKET", "instrument": ["EUR_USD"], "units": "1"},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "NaN"},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1e400"},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "0"},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1.5"},
    {"type": "MARKET", "instrument": "EUR_USD", "units": True},
    {"type": "MARKET", "instrument": "EUR_USD", "units": {"a": 1}},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1", "timeInForce": "GTC"},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1", "positionFill": "X"},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1", "priceBound": "-1"},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1", "clientExtensions": "x"},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1", "clientExtensions": {"id": 5}},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1", "takeProfitOnFill": 3},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1", "takeProfitOnFill": {}},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1", "stopLossOnFill": {"distance": "x"}},
    {"type": "MARKET", "instrument": "EUR_USD", "units": "1", "tradeClientExtensions": []},
    {"type": "LIMIT", "instrument": "EUR_USD", "units": "1"},
    {"type": "LIMIT", "instrument": "EUR_USD", "units": "1", "price": "1.123456789"},
    {"type": "LIMIT", "instrument": "EUR_USD", "units": "1", "price": "1.1", "timeInForce": "GTD"},
    {"type": "STOP", "instrument": "EUR_USD", "units": "1", "price": "1", "gtdTime": 5,
     "timeInForce": "GTD"},
    {"type": "STOP", "instrument": "EUR_USD", "units": "1", "price": "1",
     "triggerCondition": "NEVER"},
    {"type": "TAKE_PROFIT", "tradeID": "999", "price": "1"},
    {"type": "TAKE_PROFIT", "tradeID": None, "price": "1"},
]  # fmt: skip


@pytest.mark.parametrize("spec", GARBAGE)
def test_garbage_orders_get_a_400_and_change_nothing(eng: VenueEngine, spec: Any) -> None:
    before = eng.get_account(A)["account"]
    with pytest.raises(VenueError) as info:
        eng.create_order(A, spec)
    assert info.value.status == 400
    assert info.value.body()["errorMessage"]
    after = eng.get_account(A)["account"]
    assert (after["balance"], after["orders"], after["trades"]) == (
        before["balance"],
        before["orders"],
        before["trades"],
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.close_trade(A, "1", "x"),
        lambda e: e.close_trade(A, "@nope"),
        lambda e: e.close_position(A, "EUR_USD", {"longUnits": "-5"}),
        lambda e: e.close_position(A, "EUR_USD", {}),
        lambda e: e.close_position(A, "XXX", {"longUnits": "ALL"}),
        lambda e: e.close_position(A, "EUR_USD", []),
        lambda e: e.set_trade_orders(A, "4", {"takeProfit": "x"}),
        lambda e: e.set_trade_orders(A, "4", {"stopLoss": {}}),
        lambda e: e.set_order_extensions(A, "3", {"clientExtensions": {"id": ""}}),
        lambda e: e.set_order_extensions(A, "3", {}),
        lambda e: e.set_trade_extensions(A, "4", {"clientExtensions": 1}),
        lambda e: e.replace_order(A, "3", {"type": "LIMIT"}),
        lambda e: e.get_changes(A, 10**9),
        lambda e: e.get_instruments(A, ["NOPE"]),
    ],
)
def test_malformed_requests_get_4xx(eng: VenueEngine, call: Any) -> None:
    market(eng, "10")  # order 3, trade 4
    with pytest.raises(VenueError) as info:
        call(eng)
    assert 400 <= info.value.status < 500


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["EUR_USD", "MARKET", "LIMIT", "STOP", "1", "-1", "1.1", "ALL", "GTD"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from([*ORDER_KEYS, "x"]), inner, max_size=6
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=json_values, close=json_values)
def test_any_json_gets_an_answer_or_a_4xx_never_a_crash(spec: Any, close: Any) -> None:
    mkt = Market()
    mkt.set("EUR_USD", 1.1000, 1.1002)
    e = engine(mkt)
    tid = market(e, "10")["orderFillTransaction"]["tradeOpened"]["tradeID"]
    calls = [
        lambda: e.create_order(A, spec),
        lambda: e.replace_order(A, "3", spec),
        lambda: e.set_trade_orders(A, tid, close),
        lambda: e.close_trade(A, tid, close),
        lambda: e.close_position(A, "EUR_USD", close),
        lambda: e.set_order_extensions(A, "3", close),
        lambda: e.set_trade_extensions(A, tid, close),
    ]
    for call in calls:
        status = 200
        try:
            call()
        except VenueError as err:
            status = err.status
        assert status < 500
    ids = [int(t["id"]) for t in e.transactions_since(A, 0)["transactions"]]
    assert ids == list(range(1, len(ids) + 1))
