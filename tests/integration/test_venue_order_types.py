"""Trailing stop loss, market-if-touched and guaranteed stop loss orders over loopback with
the real oandapyV20 client (its own request builders), on an engine stored in a real database
(SQLite and Postgres). Every response is checked against OANDA's OpenAPI description."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from oandapyV20 import API
from oandapyV20.contrib.requests import (
    MITOrderRequest,
    StopLossDetails,
    TrailingStopLossDetails,
    TrailingStopLossOrderRequest,
)
from oandapyV20.endpoints import accounts, orders, trades, transactions
from oandapyV20.exceptions import V20Error
from oandapyV20.oandapyV20 import TRADING_ENVIRONMENTS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tradewind.storage.engine import make_engine
from tradewind.storage.migrate import upgrade
from tradewind.testing.openapi import V20Spec
from tradewind.testing.venue_market import ManualMarket
from tradewind.venue.engine import DEFAULT_ACCOUNT, VenueEngine
from tradewind.venue.engine.guaranteed import Guarantees
from tradewind.venue.http_trading import trading_routes
from tradewind.venue.instruments import default_instruments
from tradewind.venue.persistence import SqlTransactionStore
from tradewind.venue.wire import VenueError

A = DEFAULT_ACCOUNT
SPEC = V20Spec()
T0 = 1_718_000_000_000_000_000


class Market(ManualMarket):
    def __init__(self) -> None:
        super().__init__(T0, step_ns=1_000_000_000)


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VenueError)
    return JSONResponse(exc.body(), status_code=exc.status)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Served = tuple[Callable[[str], tuple[VenueEngine, API]], Market]


@pytest.fixture
def served(db_url: str) -> Iterator[Served]:
    """``start(mode)`` serves an engine whose accounts have that guaranteedStopLossOrderMode
    (on the same database: a second start is a restart)."""
    mkt = Market()
    mkt.set("EUR_USD", 1.1000, 1.1002)
    db = make_engine(db_url)
    upgrade(db)
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []
    apis: list[API] = []

    def start(mode: str) -> tuple[VenueEngine, API]:
        engine = VenueEngine(
            default_instruments(), mkt.now, mkt.quotes.get, SqlTransactionStore(db),
            guarantees=Guarantees(mode=mode),
        )  # fmt: skip
        app = Starlette(routes=trading_routes(engine), exception_handlers={VenueError: _error})
        port = _port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        for old, t in servers:
            old.should_exit = True
            t.join(5)
        servers[:] = [(server, thread)]
        base = f"http://127.0.0.1:{port}"
        TRADING_ENVIRONMENTS["tw-order-types"] = {"api": base, "stream": base}
        api = API(access_token="t", environment="tw-order-types")
        api.client.hooks["response"].append(SPEC.requests_hook)
        apis.append(api)
        return engine, api

    yield start, mkt
    for api in apis:
        api.close()
    for server, thread in servers:
        server.should_exit = True
        thread.join(5)


def _buy(api: API, units: int = 1000, **kw: Any) -> dict[str, Any]:
    data = {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": str(units), **kw}}
    return dict(api.request(orders.OrderCreate(A, data=data))["orderFillTransaction"])


def test_trailing_stops_and_market_if_touched_with_the_real_client(served: Served) -> None:
    start, mkt = served
    engine, api = start("DISABLED")
    tid = _buy(api)["tradeOpened"]["tradeID"]
    r = orders.OrderCreate(A, data=TrailingStopLossOrderRequest(tradeID=tid, distance=0.005).data)
    tsl = api.request(r)["orderCreateTransaction"]
    assert (r.status_code, tsl["type"]) == (201, "TRAILING_STOP_LOSS_ORDER")
    got = api.request(trades.TradeDetails(A, tid))["trade"]["trailingStopLossOrder"]
    assert got["trailingStopValue"] == "1.09500"
    engine.on_quote(mkt.set("EUR_USD", 1.1030, 1.1032))
    assert api.request(orders.OrderDetails(A, tsl["id"]))["order"]["trailingStopValue"] == "1.09800"
    api.request(accounts.AccountDetails(A))  # the trade's trailingStopLossOrder conforms
    # replace it through the trade, then let it trigger
    body = {"trailingStopLoss": TrailingStopLossDetails(distance=0.002).data}
    out = api.request(trades.TradeCRCDO(A, tid, data=body))
    assert out["trailingStopLossOrderTransaction"]["replacesOrderID"] == tsl["id"]
    engine.on_quote(mkt.set("EUR_USD", 1.1009, 1.1011))  # bid <= 1.1030 - 0.0020
    closed = api.request(trades.TradeDetails(A, tid))["trade"]
    assert closed["state"] == "CLOSED"
    fill_id = closed["closingTransactionIDs"][0]
    fill = api.request(transactions.TransactionDetails(A, fill_id))["transaction"]
    assert (fill["reason"], fill["price"]) == ("TRAILING_STOP_LOSS_ORDER", "1.10090")
    # a market-if-touched order with orders on fill
    mit = MITOrderRequest(
        instrument="EUR_USD", units=500, price=1.0990,
        trailingStopLossOnFill=TrailingStopLossDetails(distance=0.005).data,
    )  # fmt: skip
    r = orders.OrderCreate(A, data=mit.data)
    oid = api.request(r)["orderCreateTransaction"]["id"]
    pending = api.request(orders.OrderDetails(A, oid))["order"]
    assert (pending["type"], pending["initialMarketPrice"]) == ("MARKET_IF_TOUCHED", "1.10110")
    engine.on_quote(mkt.set("EUR_USD", 1.0988, 1.0990))
    filled = api.request(orders.OrderDetails(A, oid))["order"]
    assert filled["state"] == "FILLED"
    opened = api.request(trades.TradeDetails(A, filled["tradeOpenedID"]))["trade"]
    assert opened["trailingStopLossOrder"]["trailingStopValue"] == "1.09380"
    api.request(transactions.TransactionIDRange(A, params={"from": 1, "to": 40}))
    # the same order again is a conformant 400 with its reject transaction
    with pytest.raises(V20Error) as info:
        api.request(orders.OrderCreate(A, data={"order": {
            "type": "TRAILING_STOP_LOSS", "tradeID": filled["tradeOpenedID"], "distance": "0.01",
        }}))  # fmt: skip
    assert info.value.code == 400
    assert json.loads(info.value.msg)["errorCode"] == "TRAILING_STOP_LOSS_ORDER_ALREADY_EXISTS"


def test_guaranteed_stop_loss_by_account_mode_with_the_real_client(served: Served) -> None:
    start, mkt = served
    _engine, api = start("DISABLED")
    tid = _buy(api, 10_000)["tradeOpened"]["tradeID"]
    gsl = {"stopLoss": {"price": "1.0950", "guaranteed": True}}
    with pytest.raises(V20Error) as info:
        api.request(trades.TradeCRCDO(A, tid, data=gsl))
    body = json.loads(info.value.msg)
    assert body["errorCode"] == "STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED"
    # the venue's operator allows them: the same database, restarted
    engine, api = start("ALLOWED")
    summary = api.request(accounts.AccountSummary(A))["account"]
    assert summary["guaranteedStopLossOrderMode"] == "ALLOWED"
    listed = api.request(accounts.AccountInstruments(A, params={"instruments": "EUR_USD"}))
    eur = listed["instruments"][0]
    assert eur["guaranteedStopLossOrderExecutionPremium"] == "0.00050"
    assert eur["minimumGuaranteedStopLossDistance"] == "0.00100"
    out = api.request(trades.TradeCRCDO(A, tid, data=gsl))
    assert out["stopLossOrderTransaction"]["guaranteedExecutionPremium"] == "0.00050"
    on_fill = StopLossDetails(price=1.0900).data | {"guaranteed": True}
    other = _buy(api, 1000, stopLossOnFill=on_fill)["tradeOpened"]["tradeID"]
    engine.on_quote(mkt.set("EUR_USD", 1.0850, 1.0852))  # a gap through both stops
    fills = api.request(transactions.TransactionsSinceID(A, params={"id": 1}))["transactions"]
    fills = [t for t in fills if t["type"] == "ORDER_FILL" and t["reason"] == "STOP_LOSS_ORDER"]
    assert [(f["price"], f["guaranteedExecutionFee"]) for f in fills] == [
        ("1.09500", "5.0000"),  # 10000 x 0.0005
        ("1.09000", "0.5000"),  # 1000 x 0.0005
    ]
    assert fills[0]["pl"] == "-52.0000"  # (1.0950 - 1.1002) x 10000
    summary = api.request(accounts.AccountSummary(A))["account"]
    assert summary["guaranteedExecutionFees"] == "5.5000"
    assert api.request(trades.TradeDetails(A, other))["trade"]["state"] == "CLOSED"
    api.request(accounts.AccountChanges(A, params={"sinceTransactionID": 1}))


# ------------------------------------------------------------------ state across a restart


def test_a_trailed_stop_survives_a_restart_and_triggers_at_its_level(served: Served) -> None:
    start, mkt = served
    engine, api = start("DISABLED")
    tid = _buy(api)["tradeOpened"]["tradeID"]
    r = orders.OrderCreate(A, data=TrailingStopLossOrderRequest(tradeID=tid, distance=0.005).data)
    oid = api.request(r)["orderCreateTransaction"]["id"]
    engine.on_quote(mkt.set("EUR_USD", 1.1030, 1.1032))  # trails up to 1.0980
    engine.on_quote(mkt.set("EUR_USD", 1.1010, 1.1012))  # never down
    assert api.request(orders.OrderDetails(A, oid))["order"]["trailingStopValue"] == "1.09800"
    engine, api = start("DISABLED")  # a new engine from the same database
    got = api.request(orders.OrderDetails(A, oid))["order"]
    assert (got["state"], got["trailingStopValue"]) == ("PENDING", "1.09800")
    engine.on_quote(mkt.set("EUR_USD", 1.0990, 1.0992))  # above the trailed stop: no fill
    got = api.request(orders.OrderDetails(A, oid))["order"]  # (from the bid: it would be 1.0940)
    assert (got["state"], got["trailingStopValue"]) == ("PENDING", "1.09800")
    engine.on_quote(mkt.set("EUR_USD", 1.0980, 1.0982))
    closed = api.request(trades.TradeDetails(A, tid))["trade"]
    assert closed["state"] == "CLOSED"
    fill = api.request(transactions.TransactionDetails(A, closed["closingTransactionIDs"][0]))
    assert (fill["transaction"]["reason"], fill["transaction"]["price"]) == (
        "TRAILING_STOP_LOSS_ORDER", "1.09800",
    )  # fmt: skip
    # the stored transactions carry only v20's fields: every answer above conformed


def test_market_if_touched_orders_keep_their_side_across_a_restart(served: Served) -> None:
    start, mkt = served
    _engine, api = start("DISABLED")  # market 1.1000 / 1.1002: a buy watches the ask
    below = MITOrderRequest(instrument="EUR_USD", units=100, price=1.0990)  # acts as a limit
    above = MITOrderRequest(instrument="EUR_USD", units=200, price=1.1010)  # acts as a stop
    low = api.request(orders.OrderCreate(A, data=below.data))["orderCreateTransaction"]["id"]
    high = api.request(orders.OrderCreate(A, data=above.data))["orderCreateTransaction"]["id"]
    engine, api = start("DISABLED")
    for oid in (low, high):
        got = api.request(orders.OrderDetails(A, oid))["order"]
        assert (got["state"], got["initialMarketPrice"]) == ("PENDING", "1.10020")
    # the first price after the restart is past the high order's price: it was below it
    engine.on_quote(mkt.set("EUR_USD", 1.1013, 1.1015))
    states = [api.request(orders.OrderDetails(A, o))["order"]["state"] for o in (low, high)]
    assert states == ["PENDING", "FILLED"]
    engine, api = start("DISABLED")
    engine.on_quote(mkt.set("EUR_USD", 1.0983, 1.0985))  # past the low one from above
    got = api.request(orders.OrderDetails(A, low))["order"]
    assert (got["state"], got["initialMarketPrice"]) == ("FILLED", "1.10020")


class _DiesBeforeStateWrite(SqlTransactionStore):
    """A store whose process "dies" (the write never happens) once ``dead`` is set."""

    dead = False

    def append_with_state(self, accounts: Any, transactions: Any, state: Any) -> None:
        if self.dead:
            raise RuntimeError("killed before the write")
        super().append_with_state(accounts, transactions, state)


def test_a_move_not_yet_written_is_lost_not_invented(db_url: str) -> None:
    """kill -9 after a move but before its write: the restarted venue has the last stored
    value (never a later one, never less protection than that)."""
    mkt = Market()
    mkt.set("EUR_USD", 1.1000, 1.1002)
    db = make_engine(db_url)
    upgrade(db)
    try:
        store = _DiesBeforeStateWrite(db)
        first = VenueEngine(default_instruments(), mkt.now, mkt.quotes.get, store)
        tid = first.create_order(A, {"type": "MARKET", "instrument": "EUR_USD", "units": "10"})[
            "orderFillTransaction"
        ]["tradeOpened"]["tradeID"]
        out = first.create_order(
            A, {"type": "TRAILING_STOP_LOSS", "tradeID": tid, "distance": "0.005"}
        )
        oid = out["orderCreateTransaction"]["id"]
        first.on_quote(mkt.set("EUR_USD", 1.1030, 1.1032))  # stored: 1.09800
        store.dead = True
        with pytest.raises(RuntimeError, match="killed"):
            first.on_quote(mkt.set("EUR_USD", 1.1050, 1.1052))  # 1.10000 in memory only
        again = VenueEngine(default_instruments(), mkt.now, mkt.quotes.get, SqlTransactionStore(db))
        assert again.get_order(A, oid)["order"]["trailingStopValue"] == "1.09800"
        again.on_quote(mkt.set("EUR_USD", 1.1040, 1.1042))  # trails on from the stored value
        assert again.get_order(A, oid)["order"]["trailingStopValue"] == "1.09900"
    finally:
        db.dispose()
