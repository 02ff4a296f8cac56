"""The venue's trading routes over loopback with the real oandapyV20 client, on an engine whose
state is in a real database (SQLite and Postgres). Every response is checked against OANDA's
OpenAPI description; a restarted engine keeps accounts, orders, trades and ids."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import uvicorn
from oandapyV20 import API
from oandapyV20.endpoints import accounts, orders, positions, trades, transactions
from oandapyV20.exceptions import V20Error
from oandapyV20.oandapyV20 import TRADING_ENVIRONMENTS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from venue_support import TOKEN, running_venue

from tradewind.storage.engine import make_engine
from tradewind.storage.migrate import upgrade
from tradewind.testing.openapi import V20Spec
from tradewind.testing.venue_market import ManualMarket
from tradewind.venue.engine import DEFAULT_ACCOUNT, VenueEngine
from tradewind.venue.http_trading import trading_routes
from tradewind.venue.instruments import default_instruments
from tradewind.venue.persistence import SqlTransactionStore
from tradewind.venue.wire import VenueError

A = DEFAULT_ACCOUNT
SPEC = V20Spec()
T0 = 1_718_000_000_000_000_000


class Market(ManualMarket):
    def __init__(self) -> None:
        super().__init__(T0)


def make_venue(url: str, mkt: Market) -> VenueEngine:
    db = make_engine(url)
    upgrade(db)
    return VenueEngine(default_instruments(), mkt.now, mkt.quotes.get, SqlTransactionStore(db))


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VenueError)
    return JSONResponse(exc.body(), status_code=exc.status)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[VenueEngine, Market, str, API]]:
    mkt = Market()
    mkt.set("EUR_USD", 1.1000, 1.1002)
    mkt.set("USD_JPY", 150.00, 150.02)
    engine = make_venue(db_url, mkt)
    app = Starlette(
        routes=trading_routes(engine, heartbeat_s=0.2), exception_handlers={VenueError: _error}
    )
    port = _port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    TRADING_ENVIRONMENTS["tw-trading"] = {"api": base, "stream": base}
    api = API(access_token="t", environment="tw-trading")
    api.client.hooks["response"].append(SPEC.requests_hook)
    yield engine, mkt, base, api
    api.close()
    server.should_exit = True
    thread.join(5)


def test_orders_with_the_real_client(served: tuple[VenueEngine, Market, str, API]) -> None:
    _engine, _mkt, _base, api = served
    assert api.request(accounts.AccountList())["accounts"][0]["id"] == A
    assert api.request(accounts.AccountDetails(A))["account"]["balance"] == "100000.0000"
    api.request(accounts.AccountSummary(A))
    assert len(api.request(accounts.AccountInstruments(A))["instruments"]) == 10
    limit = {
        "order": {
            "type": "LIMIT",
            "instrument": "EUR_USD",
            "units": "1000",
            "price": "1.0900",
            "clientExtensions": {"id": "lim-1"},
        }
    }
    r = orders.OrderCreate(A, data=limit)
    out = api.request(r)
    assert r.status_code == 201
    oid = out["orderCreateTransaction"]["id"]
    listed = api.request(orders.OrderList(A, params={"state": "PENDING", "instrument": "EUR_USD"}))
    assert [o["id"] for o in listed["orders"]] == [oid]
    assert api.request(orders.OrdersPending(A))["orders"][0]["id"] == oid
    assert api.request(orders.OrderDetails(A, "@lim-1"))["order"]["id"] == oid
    limit["order"]["price"] = "1.0950"
    r = orders.OrderReplace(A, oid, data=limit)
    new = api.request(r)["orderCreateTransaction"]["id"]
    assert r.status_code == 201
    api.request(orders.OrderClientExtensions(A, new, data={"clientExtensions": {"tag": "t"}}))
    out = api.request(orders.OrderCancel(A, "@lim-1"))
    assert out["orderCancelTransaction"]["orderID"] == new
    with pytest.raises(V20Error) as info:
        api.request(orders.OrderCancel(A, new))
    assert info.value.code == 404
    with pytest.raises(V20Error) as info:
        api.request(orders.OrderDetails(A, "12345"))
    assert info.value.code == 404


def test_trades_positions_transactions_with_the_real_client(
    served: tuple[VenueEngine, Market, str, API],
) -> None:
    engine, mkt, base, api = served
    mo = {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "1000",
                    "takeProfitOnFill": {"price": "1.2000"},
                    "tradeClientExtensions": {"id": "tr-1"}}}  # fmt: skip
    fill = api.request(orders.OrderCreate(A, data=mo))["orderFillTransaction"]
    tid = fill["tradeOpened"]["tradeID"]
    assert api.request(trades.OpenTrades(A))["trades"][0]["id"] == tid
    assert api.request(trades.TradeDetails(A, "@tr-1"))["trade"]["takeProfitOrder"]
    api.request(trades.TradesList(A, params={"state": "ALL", "count": 10}))
    api.request(trades.TradeClientExtensions(A, tid, data={"clientExtensions": {"tag": "x"}}))
    api.request(trades.TradeCRCDO(A, tid, data={"stopLoss": {"price": "1.0500"}}))
    out = api.request(trades.TradeClose(A, tid, data={"units": "400"}))
    assert out["orderFillTransaction"]["tradeReduced"]["units"] == "-400"
    mkt.set("EUR_USD", 1.1010, 1.1012)
    out = api.request(trades.TradeClose(A, tid))
    assert out["orderFillTransaction"]["tradesClosed"][0]["realizedPL"] == "0.4800"
    mo["order"].pop("tradeClientExtensions")
    api.request(orders.OrderCreate(A, data=mo))
    api.request(positions.OpenPositions(A))
    api.request(positions.PositionList(A))
    api.request(positions.PositionDetails(A, "EUR_USD"))
    out = api.request(positions.PositionClose(A, "EUR_USD", data={"longUnits": "ALL"}))
    assert out["longOrderFillTransaction"]["units"] == "-1000"
    with pytest.raises(V20Error) as info:
        api.request(positions.PositionClose(A, "EUR_USD", data={"longUnits": "ALL"}))
    assert info.value.code == 400
    last = int(engine.last_transaction_id(A))
    pages = api.request(transactions.TransactionList(A, params={"pageSize": 5}))
    assert pages["count"] == last
    assert len(pages["pages"]) == -(-last // 5)
    got = api.request(transactions.TransactionIDRange(A, params={"from": 1, "to": last}))
    assert [int(t["id"]) for t in got["transactions"]] == list(range(1, last + 1))
    got = api.request(transactions.TransactionsSinceID(A, params={"id": last - 2}))
    assert len(got["transactions"]) == 2
    api.request(transactions.TransactionDetails(A, str(last)))
    got = api.request(accounts.AccountChanges(A, params={"sinceTransactionID": 2}))
    assert got["changes"]["tradesClosed"]
    # UNIX times on request
    headers = {"Accept-Datetime-Format": "UNIX"}
    r = requests.get(f"{base}/v3/accounts/{A}/transactions/{last}", headers=headers, timeout=5)
    SPEC.validate_response("GET", r.request.path_url, r.status_code, r.json())
    assert "." in r.json()["transaction"]["time"]
    assert "T" not in r.json()["transaction"]["time"]


def test_a_rejected_order_is_a_400_with_its_transaction(
    served: tuple[VenueEngine, Market, str, API],
) -> None:
    _engine, _mkt, base, api = served
    bad = {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "-0.5"}}
    with pytest.raises(V20Error) as info:
        api.request(orders.OrderCreate(A, data=bad))
    assert info.value.code == 400
    r = requests.post(f"{base}/v3/accounts/{A}/orders", json=bad, timeout=5)
    body = r.json()
    assert r.status_code == 400
    assert body["errorCode"] == "UNITS_PRECISION_EXCEEDED"
    assert body["orderRejectTransaction"]["type"] == "MARKET_ORDER_REJECT"
    assert body["lastTransactionID"] == body["orderRejectTransaction"]["id"]
    SPEC.validate_response("POST", f"/v3/accounts/{A}/orders", 400, body)


GARBAGE = [
    ("POST", "/orders", b"not json"),
    ("POST", "/orders", b"[1, 2]"),
    ("POST", "/orders", b'{"order": 5}'),
    ("POST", "/orders", b'{"order": {"type": "MARKET", "units": "1e999999"}}'),
    ("POST", "/orders", b'{"order": {"type": "MARKET", "instrument": "EUR_USD", "units": 1e308}}'),
    ("POST", "/orders", b"\xff\xfe"),
    ("POST", "/orders", b""),
    ("PUT", "/orders/1/cancel", b""),
    ("PUT", "/orders/abc", b'{"order": {}}'),
    ("PUT", "/trades/1/close", b'{"units": [1]}'),
    ("PUT", "/trades/1/orders", b'{"takeProfit": 5}'),
    ("PUT", "/positions/EUR_USD/close", b'{"longUnits": {"x": 1}}'),
    ("PUT", "/positions/EUR_USD/close", b'{"shortUnits": "-3"}'),
    ("GET", "/orders?count=abc", b""),
    ("GET", "/orders?count=0", b""),
    ("GET", "/orders?state=NOPE", b""),
    ("GET", "/orders?ids=1,x", b""),
    ("GET", "/trades?beforeID=-1", b""),
    ("GET", "/transactions?from=yesterday", b""),
    ("GET", "/transactions?pageSize=5000", b""),
    ("GET", "/transactions/idrange?from=1", b""),
    ("GET", "/transactions/sinceid?id=x", b""),
    ("GET", "/transactions/xyz", b""),
    ("GET", "/changes", b""),
    ("GET", "/positions/NOPE", b""),
    ("GET", "/instruments?instruments=NOPE", b""),
]


def test_malformed_requests_get_4xx_never_5xx(
    served: tuple[VenueEngine, Market, str, API],
) -> None:
    _engine, _mkt, base, _api = served
    for method, path, body in GARBAGE:
        r = requests.request(method, f"{base}/v3/accounts/{A}{path}", data=body, timeout=5)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)
        assert r.json()["errorMessage"], (method, path)
    r = requests.get(f"{base}/v3/accounts/9-9-9-9/summary", timeout=5)
    assert r.status_code == 404
    r = requests.get(
        f"{base}/v3/accounts/{A}/summary", headers={"Accept-Datetime-Format": "X"}, timeout=5
    )
    assert r.status_code == 400


def test_transaction_stream_pushes_new_transactions(
    served: tuple[VenueEngine, Market, str, API],
) -> None:
    engine, _mkt, _base, api = served
    ep = transactions.TransactionsStream(A)
    lines = api.request(ep)
    path = f"/v3/accounts/{A}/transactions/stream"
    got: list[dict[str, Any]] = []
    try:
        first = next(lines)  # a heartbeat within 0.2 s
        SPEC.validate_stream_line(path, first)
        assert first["type"] == "HEARTBEAT"
        mo = {"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "10"}}
        threading.Timer(0.05, lambda: engine.create_order(A, mo["order"])).start()
        for line in itertools.islice(lines, 10):
            SPEC.validate_stream_line(path, line)
            if line["type"] != "HEARTBEAT":
                got.append(line)
            if len(got) == 2:
                break
    finally:
        lines.close()
    assert [t["type"] for t in got] == ["MARKET_ORDER", "ORDER_FILL"]


def test_a_restarted_venue_keeps_its_state_and_ids(db_url: str) -> None:
    mkt = Market()
    mkt.set("EUR_USD", 1.1000, 1.1002)
    first = make_venue(db_url, mkt)
    first.create_order(
        A,
        {"type": "MARKET", "instrument": "EUR_USD", "units": "1000",
         "clientExtensions": {"id": "keep"}, "stopLossOnFill": {"price": "1.0000"}},
    )  # fmt: skip
    first.create_order(
        A, {"type": "LIMIT", "instrument": "EUR_USD", "units": "-10", "price": "1.3000"}
    )
    with pytest.raises(VenueError):
        first.create_order(A, {"type": "MARKET", "instrument": "EUR_USD", "units": "x"})
    before = first.get_account(A)
    second = make_venue(db_url, mkt)
    assert second.list_accounts() == first.list_accounts()
    assert second.get_account(A) == before
    assert second.get_order(A, "@keep")["order"]["state"] == "FILLED"
    assert second.transactions_since(A, 0) == first.transactions_since(A, 0)
    nxt = second.create_order(A, {"type": "MARKET", "instrument": "EUR_USD", "units": "-1000"})
    assert int(nxt["orderCreateTransaction"]["id"]) == int(before["lastTransactionID"]) + 1
    third = make_venue(db_url, mkt)
    assert third.list_trades(A)["trades"] == []
    assert third.get_account(A)["account"]["pendingOrderCount"] == 1  # the limit


# ------------------------------------------------------------ lone UTF-16 surrogates (#11)

# JSON ``\ud800`` (a lone surrogate) parses to a str that cannot be encoded as UTF-8: every
# request body field holding one is a 400 naming the field, before anything is stored
SURROGATE_BODIES = [
    ("POST", "/orders", "order.clientExtensions.id",
     '{"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "10",'
     ' "clientExtensions": {"id": "\\ud800"}}}'),
    ("POST", "/orders", "order.clientExtensions.tag",
     '{"order": {"type": "LIMIT", "instrument": "EUR_USD", "units": "10", "price": "1.0",'
     ' "clientExtensions": {"tag": "a\\udc00b"}}}'),
    ("POST", "/orders", "order.clientExtensions.comment",
     '{"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "10",'
     ' "clientExtensions": {"comment": "\\udfff"}}}'),
    ("POST", "/orders", "order.tradeClientExtensions.id",
     '{"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "10",'
     ' "tradeClientExtensions": {"id": "x\\ud800"}}}'),
    ("POST", "/orders", "order.takeProfitOnFill.clientExtensions.comment",
     '{"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "10",'
     ' "takeProfitOnFill": {"price": "1.2", "clientExtensions": {"comment": "\\ud800"}}}}'),
    ("POST", "/orders", "order.instrument",
     '{"order": {"type": "MARKET", "instrument": "EUR_USD\\ud800", "units": "10"}}'),
    ("POST", "/orders", "order.\\ud800",
     '{"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "10", "\\ud800": 1}}'),
    ("POST", "/orders", "order.clientExtensions.comment[1]",
     '{"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "10",'
     ' "clientExtensions": {"comment": ["ok", "\\ud800"]}}}'),
    ("PUT", "/orders/{order}/clientExtensions", "clientExtensions.comment",
     '{"clientExtensions": {"comment": "\\ud800"}}'),
    ("PUT", "/orders/{order}/clientExtensions", "tradeClientExtensions.tag",
     '{"tradeClientExtensions": {"tag": "\\ud800"}}'),
    ("PUT", "/trades/{trade}/clientExtensions", "clientExtensions.id",
     '{"clientExtensions": {"id": "\\udbff"}}'),
    ("PUT", "/trades/{trade}/orders", "stopLoss.clientExtensions.id",
     '{"stopLoss": {"price": "1.0", "clientExtensions": {"id": "\\ud800"}}}'),
    ("PUT", "/trades/{trade}/close", "units", '{"units": "\\ud800"}'),
    ("PUT", "/positions/EUR_USD/close", "longUnits", '{"longUnits": "\\ud800"}'),
    ("PUT", "/orders/{order}", "order.clientExtensions.id",
     '{"order": {"type": "LIMIT", "instrument": "EUR_USD", "units": "10", "price": "1.0",'
     ' "clientExtensions": {"id": "\\ud800"}}}'),
]  # fmt: skip


def _tx_count(base: str) -> int:
    r = requests.get(f"{base}/v3/accounts/{A}/summary", timeout=5)
    return int(r.json()["lastTransactionID"])


@pytest.mark.parametrize(
    ("method", "path", "field", "body"),
    SURROGATE_BODIES,
    ids=[f"{m} {p} {f}" for m, p, f, _b in SURROGATE_BODIES],
)
def test_a_lone_surrogate_in_a_request_is_a_400_and_stores_nothing(
    served: tuple[VenueEngine, Market, str, API], method: str, path: str, field: str, body: str
) -> None:
    engine, _mkt, base, _api = served
    fill = engine.create_order(A, {"type": "MARKET", "instrument": "EUR_USD", "units": "10"})
    trade = fill["orderFillTransaction"]["tradeOpened"]["tradeID"]
    limit = engine.create_order(
        A, {"type": "LIMIT", "instrument": "EUR_USD", "units": "10", "price": "1.0"}
    )
    order = limit["orderCreateTransaction"]["id"]
    before = _tx_count(base)
    url = f"{base}/v3/accounts/{A}{path.format(order=order, trade=trade)}"
    raw = body.encode("ascii")
    assert "\\ud" in body  # the escape, not a real character, goes over the wire
    r = requests.request(method, url, data=raw, timeout=5)
    assert r.status_code == 400, r.text
    got = r.json()
    assert got == {
        "errorCode": "INVALID_VALUE",
        "errorMessage": f"Invalid value specified for '{field}'",
    }
    SPEC.validate_response(method, r.request.path_url, 400, got)
    assert _tx_count(base) == before  # nothing stored, no reject transaction either
    for read in ("/transactions/sinceid?id=1", f"/changes?sinceTransactionID={before}"):
        assert requests.get(f"{base}/v3/accounts/{A}{read}", timeout=5).status_code == 200


def _plant(db_url: str, txs: list[dict[str, Any]]) -> None:
    """Write transactions straight into the venue's store (as a database written before the
    fix may hold them)."""
    db = make_engine(db_url)
    try:
        SqlTransactionStore(db).append([], [(A, tx) for tx in txs])
    finally:
        db.dispose()


def test_stored_lone_surrogates_do_not_break_reads_or_a_restart(db_url: str) -> None:
    h = {"Authorization": f"Bearer {TOKEN}"}
    with running_venue(database_url=db_url, clock="stepped") as v:
        base = v.base_url  # type: ignore[attr-defined]
        r = requests.post(
            f"{base}/v3/accounts/{A}/orders",
            json={"order": {"type": "MARKET", "instrument": "EUR_USD", "units": "10"}},
            headers=h,
            timeout=5,
        )
        assert r.status_code == 201, r.text
        last = int(r.json()["lastTransactionID"])
        trade = r.json()["orderFillTransaction"]["tradeOpened"]["tradeID"]
        now = r.json()["orderFillTransaction"]["time"]
    common = {"time": now, "userID": 1, "accountID": A}
    bad = "\ud800"
    _plant(
        db_url,
        [
            {**common, "id": str(last + 1), "batchID": str(last + 1), "requestID": str(last + 1),
             "type": "LIMIT_ORDER", "instrument": "EUR_USD", "units": "10", "price": "1.00000",
             "timeInForce": "GTC", "positionFill": "DEFAULT", "triggerCondition": "DEFAULT",
             "reason": "CLIENT_ORDER",
             "clientExtensions": {"id": f"lim{bad}", "tag": "\udfff", "comment": f"a{bad}b"},
             "tradeClientExtensions": {"id": f"t{bad}"}},
            {**common, "id": str(last + 2), "batchID": str(last + 2), "requestID": str(last + 2),
             "type": "TRADE_CLIENT_EXTENSIONS_MODIFY", "tradeID": trade,
             "tradeClientExtensionsModify": {"id": f"tr{bad}", "comment": bad}},
            {**common, "id": str(last + 3), "batchID": str(last + 3), "requestID": str(last + 3),
             "type": "MARKET_ORDER_REJECT", "instrument": "EUR_USD", "units": "10",
             "timeInForce": "FOK", "positionFill": "DEFAULT",
             "clientExtensions": {"comment": bad}, "rejectReason": "INSUFFICIENT_MARGIN"},
        ],
    )  # fmt: skip
    with running_venue(database_url=db_url, clock="stepped") as v:  # the replay on start
        base = v.base_url  # type: ignore[attr-defined]
        top = last + 3
        reads = [
            f"/v3/accounts/{A}/transactions",
            f"/v3/accounts/{A}/transactions/idrange?from=1&to={top}",
            f"/v3/accounts/{A}/transactions/sinceid?id={last}",
            f"/v3/accounts/{A}/transactions/{last + 1}",
            f"/v3/accounts/{A}/changes?sinceTransactionID={last}",
            f"/v3/accounts/{A}/orders?state=ALL",
            f"/v3/accounts/{A}/pendingOrders",
            f"/v3/accounts/{A}/orders/{last + 1}",
            f"/v3/accounts/{A}/trades?state=ALL",
            f"/v3/accounts/{A}/trades/{trade}",
            f"/v3/accounts/{A}",
        ]
        for path in reads:
            r = requests.get(base + path, headers=h, timeout=5)
            assert r.status_code == 200, (path, r.status_code, r.text)
            r.content.decode("utf-8")  # strict UTF-8
            SPEC.validate_response("GET", path, 200, r.json())
        got = requests.get(base + reads[3], headers=h, timeout=5).json()["transaction"]
        assert got["clientExtensions"]["id"] == "lim\ufffd"  # replaced, not dropped
        assert got["clientExtensions"]["comment"] == "a\ufffdb"
        order = requests.get(base + reads[7], headers=h, timeout=5).json()["order"]
        assert order["state"] == "PENDING"
        assert order["clientExtensions"]["tag"] == "\ufffd"
        # the transaction stream pushes a new transaction whose text holds one (made through
        # the engine, not HTTP) as UTF-8 with the replacement character
        with requests.get(
            f"{base}/v3/accounts/{A}/transactions/stream", headers=h, stream=True, timeout=5
        ) as s:
            lines = s.iter_lines()
            assert json.loads(next(lines))["type"] == "HEARTBEAT"
            v.engine.set_order_extensions(A, str(last + 1), {"clientExtensions": {"tag": bad}})
            line = next(lines)
            pushed = json.loads(line.decode("utf-8"))
            SPEC.validate_stream_line(f"/v3/accounts/{A}/transactions/stream", pushed)
            assert pushed["clientExtensionsModify"]["tag"] == "\ufffd"
        assert requests.get(base + reads[1], headers=h, timeout=5).status_code == 200
    with running_venue(database_url=db_url, clock="stepped") as v:  # and again
        r = requests.get(v.base_url + reads[3], headers=h, timeout=5)  # type: ignore[attr-defined]
        assert r.status_code == 200


# ------------------------------- guaranteed stops on an account whose mode is DISABLED (#17)
# (trailing stops and a mode that allows guaranteed ones: test_venue_order_types.py)

SL_NOT_ALLOWED = "STOP_LOSS_ORDER_GUARANTEED_NOT_ALLOWED"
ON_FILL_NOT_ALLOWED = "STOP_LOSS_ON_FILL_GUARANTEED_NOT_ALLOWED"
MO = {"type": "MARKET", "instrument": "EUR_USD", "units": "100"}
LO = {"type": "LIMIT", "instrument": "EUR_USD", "units": "100", "price": "1.0500"}
# (order request, the reject transaction's type, its reason)
UNSUPPORTED_CREATES = [
    ({**MO, "guaranteedStopLossOnFill": {"distance": "0.0050"}}, "MARKET_ORDER",
     ON_FILL_NOT_ALLOWED),
    ({**LO, "guaranteedStopLossOnFill": {"price": "1.0000"}}, "LIMIT_ORDER", ON_FILL_NOT_ALLOWED),
    ({**MO, "stopLossOnFill": {"price": "1.0000", "guaranteed": True}}, "MARKET_ORDER",
     ON_FILL_NOT_ALLOWED),
    ({"type": "GUARANTEED_STOP_LOSS", "tradeID": "{trade}", "price": "1.0000"},
     "STOP_LOSS_ORDER", SL_NOT_ALLOWED),
    ({"type": "STOP_LOSS", "tradeID": "{trade}", "price": "1.0000", "guaranteed": True},
     "STOP_LOSS_ORDER", SL_NOT_ALLOWED),
]  # fmt: skip


def _open_trade(api: API) -> str:
    fill = api.request(orders.OrderCreate(A, data={"order": dict(MO)}))["orderFillTransaction"]
    return str(fill["tradeOpened"]["tradeID"])


def _state(api: API) -> tuple[Any, ...]:
    """What an unsupported request must not change: orders, trades, positions."""
    return (
        api.request(orders.OrderList(A, params={"state": "ALL", "count": 500}))["orders"],
        api.request(trades.TradesList(A, params={"state": "ALL", "count": 500}))["trades"],
        api.request(positions.PositionList(A))["positions"],
    )


@pytest.mark.parametrize(
    ("order", "kind", "reason"),
    UNSUPPORTED_CREATES,
    ids=[f"{o['type']}-{'-'.join(sorted(set(o) - {'type'}))}" for o, _k, _r in UNSUPPORTED_CREATES],
)
def test_unsupported_stop_losses_on_order_create_are_rejected(
    served: tuple[VenueEngine, Market, str, API], order: dict[str, Any], kind: str, reason: str
) -> None:
    engine, _mkt, _base, api = served
    trade = _open_trade(api)
    if "tradeID" in order:
        order = {**order, "tradeID": trade}
    before, last = _state(api), int(engine.last_transaction_id(A))
    r = orders.OrderCreate(A, data={"order": order})
    with pytest.raises(V20Error) as info:
        api.request(r)  # the response conforms to the description (SPEC.requests_hook)
    assert info.value.code == 400
    body = json.loads(info.value.msg)
    assert body["errorCode"] == reason
    tx = body["orderRejectTransaction"]
    assert (tx["type"], tx["rejectReason"]) == (f"{kind}_REJECT", reason)
    assert body["lastTransactionID"] == tx["id"] == str(last + 1)  # the reject, nothing else
    assert body["relatedTransactionIDs"] == [tx["id"]]
    assert _state(api) == before
    # a replace asking for the same is rejected the same way, and the order stays
    pending = api.request(orders.OrderCreate(A, data={"order": dict(LO)}))
    oid = pending["orderCreateTransaction"]["id"]
    if kind in ("MARKET_ORDER", "LIMIT_ORDER"):
        order = {**order, "type": "LIMIT", "price": "1.0400"}
    with pytest.raises(V20Error) as info:
        api.request(orders.OrderReplace(A, oid, data={"order": order}))
    assert info.value.code == 400
    assert json.loads(info.value.msg)["errorCode"] == reason
    assert api.request(orders.OrderDetails(A, oid))["order"]["state"] == "PENDING"


TRADE_ORDER_REQUESTS = [
    ({"guaranteedStopLoss": {"distance": "0.0050"}},
     {"guaranteedStopLoss": ("STOP_LOSS_ORDER", SL_NOT_ALLOWED)}),
    ({"stopLoss": {"price": "1.0000", "guaranteed": True}},
     {"stopLoss": ("STOP_LOSS_ORDER", SL_NOT_ALLOWED)}),
    ({"stopLoss": {"price": "1.0000", "guaranteed": True},
      "trailingStopLoss": {"distance": "0.0050"}},
     {"stopLoss": ("STOP_LOSS_ORDER", SL_NOT_ALLOWED)}),
    ({"stopLoss": {"price": "1.0000", "guaranteed": True},
      "guaranteedStopLoss": {"distance": "0.0050"}},
     {"stopLoss": ("STOP_LOSS_ORDER", SL_NOT_ALLOWED),
      "guaranteedStopLoss": ("STOP_LOSS_ORDER", SL_NOT_ALLOWED)}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_body", "rejects"),
    TRADE_ORDER_REQUESTS,
    ids=["+".join(b) for b, _r in TRADE_ORDER_REQUESTS],
)
def test_unsupported_stop_losses_on_trade_orders_are_rejected(
    served: tuple[VenueEngine, Market, str, API],
    request_body: dict[str, Any],
    rejects: dict[str, tuple[str, str]],
) -> None:
    engine, _mkt, _base, api = served
    trade = _open_trade(api)
    api.request(trades.TradeCRCDO(A, trade, data={"takeProfit": {"price": "1.3000"}}))
    before, last = _state(api), int(engine.last_transaction_id(A))
    with pytest.raises(V20Error) as info:
        api.request(trades.TradeCRCDO(A, trade, data=request_body))
    assert info.value.code == 400
    body = json.loads(info.value.msg)
    first = next(iter(rejects.values()))[1]
    assert body["errorCode"] == first
    ids = []
    for key, (kind, reason) in rejects.items():
        tx = body[f"{key}OrderRejectTransaction"]
        assert (tx["type"], tx["rejectReason"], tx["tradeID"]) == (f"{kind}_REJECT", reason, trade)
        ids.append(tx["id"])
    assert ids == [str(last + 1 + i) for i in range(len(rejects))]
    assert body["relatedTransactionIDs"] == ids
    assert body["lastTransactionID"] == ids[-1]
    assert not any(k.endswith(("OrderTransaction", "CancelTransaction")) for k in body)
    assert _state(api) == before  # the take profit kept, no stop loss made
    # cancelling a trailing stop loss the trade does not have changes nothing
    out = api.request(trades.TradeCRCDO(A, trade, data={"trailingStopLoss": None}))
    assert out["relatedTransactionIDs"] == []
    assert _state(api) == before
