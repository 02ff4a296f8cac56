"""v20's trading endpoints over the engine: accounts, orders, trades, positions, transactions
and the transaction stream. Errors are ``VenueError`` (the app renders their body/status)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tradewind.venue.engine import VenueEngine, in_format
from tradewind.venue.engine.commits import deferred, settle
from tradewind.venue.engine.history import TRANSACTION_FILTERS
from tradewind.venue.responses import VenueJSONResponse
from tradewind.venue.wire import (
    TimeFormat,
    VenueError,
    bad_value,
    check_text,
    format_time,
    parse_time,
    scrub,
)
from tradewind.venue.wire import time_format as _time_format

ORDER_STATES = ("PENDING", "FILLED", "TRIGGERED", "CANCELLED", "ALL")
TRADE_STATES = ("OPEN", "CLOSED", "CLOSE_WHEN_TRADEABLE", "ALL")
Handler = Callable[[Request], Any]


def _fmt(request: Request) -> TimeFormat:
    return _time_format(request.headers.get("accept-datetime-format"))


async def _body(request: Request, *, empty_ok: bool = False) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        if empty_ok:
            return {}
        raise VenueError(400, "The request body is missing", "INVALID_VALUE")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise VenueError(400, "The request body is not valid JSON", "INVALID_VALUE") from None
    if not isinstance(data, dict):
        raise VenueError(400, "The request body must be a JSON object", "INVALID_VALUE")
    return check_text(data)  # a lone surrogate: 400 naming the field, before anything is done


def _int(
    request: Request, name: str, default: int | None = None, lo: int = 0, hi: int = 2**62
) -> int:
    text = request.query_params.get(name)
    if text is None:
        if default is None:
            raise VenueError(400, f"Missing value for '{name}'", "INVALID_VALUE")
        return default
    if not _digits(text.strip()) or not lo <= int(text) <= hi:
        raise bad_value(name)
    return int(text)


def _digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes other scripts' digits)."""
    return text.isascii() and text.isdigit()


def _types(request: Request) -> list[str] | None:
    """The ``type`` filter: v20 TransactionFilter names only."""
    types = _list(request, "type")
    if types is not None and not all(t in TRANSACTION_FILTERS for t in types):
        raise bad_value("type")
    return types


def _list(request: Request, name: str) -> list[str] | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise bad_value(name)
    return items


def _choice(request: Request, name: str, choices: tuple[str, ...], default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in choices:
        raise bad_value(name)
    return value


def _time(request: Request, name: str) -> int | None:
    text = request.query_params.get(name)
    return None if text is None else parse_time(text, name)


def trading_routes(engine: VenueEngine, *, heartbeat_s: float = 5.0) -> list[Route]:  # noqa: C901  a route table: its 26 small nested handlers add up
    """The trading routes; every engine call runs under the engine's lock."""

    def endpoint(fn: Callable[[Request], Any], status: int = 200) -> Handler:
        async def handle(request: Request) -> Response:
            # The engine works on the event loop without waiting for the database: the answer
            # goes out once everything it shows (its own transactions, or what it read) is
            # stored, and the loop serves other requests while the write is under way.
            fmt = _fmt(request)
            try:
                with deferred():
                    result = await fn(request)
            except VenueError as e:
                await settle(engine.pending())
                e.extra = in_format(e.extra, fmt)
                raise
            await settle(engine.pending())
            return VenueJSONResponse(in_format(result, fmt), status_code=status)

        return handle

    def acct(request: Request) -> str:
        return str(request.path_params["account_id"])

    # accounts
    async def accounts(request: Request) -> Any:
        return engine.list_accounts()

    async def account(request: Request) -> Any:
        return engine.get_account(acct(request))

    async def summary(request: Request) -> Any:
        return engine.get_summary(acct(request))

    async def instruments(request: Request) -> Any:
        return engine.get_instruments(acct(request), _list(request, "instruments"))

    async def changes(request: Request) -> Any:
        return engine.get_changes(acct(request), _int(request, "sinceTransactionID"))

    async def configuration(request: Request) -> Any:
        return engine.configure(acct(request), await _body(request, empty_ok=True))

    # orders
    async def create_order(request: Request) -> Any:
        body = await _body(request)
        return engine.create_order(acct(request), body.get("order"))

    def _orders(request: Request, state: str | None = None) -> Any:
        ids = _list(request, "ids")
        if ids is not None and not all(_digits(i) for i in ids):
            raise bad_value("ids")
        return engine.list_orders(
            acct(request),
            state=state or _choice(request, "state", ORDER_STATES, "PENDING"),
            instrument=request.query_params.get("instrument"),
            count=_int(request, "count", 50, 1, 500),
            before_id=_int(request, "beforeID", 2**62),
            ids=ids,
        )

    async def list_orders(request: Request) -> Any:
        return _orders(request)

    async def pending_orders(request: Request) -> Any:
        return engine.list_orders(acct(request), state="PENDING", count=500)

    async def get_order(request: Request) -> Any:
        return engine.get_order(acct(request), request.path_params["spec"])

    async def replace_order(request: Request) -> Any:
        body = await _body(request)
        return engine.replace_order(acct(request), request.path_params["spec"], body.get("order"))

    async def cancel_order(request: Request) -> Any:
        return engine.cancel_order(acct(request), request.path_params["spec"])

    async def order_extensions(request: Request) -> Any:
        body = await _body(request)
        return engine.set_order_extensions(acct(request), request.path_params["spec"], body)

    # trades
    async def list_trades(request: Request) -> Any:
        ids = _list(request, "ids")
        if ids is not None and not all(_digits(i) for i in ids):
            raise bad_value("ids")
        return engine.list_trades(
            acct(request),
            state=_choice(request, "state", TRADE_STATES, "OPEN"),
            instrument=request.query_params.get("instrument"),
            count=_int(request, "count", 50, 1, 500),
            before_id=_int(request, "beforeID", 2**62),
            ids=ids,
        )

    async def open_trades(request: Request) -> Any:
        return engine.list_trades(acct(request), state="OPEN", count=500)

    async def get_trade(request: Request) -> Any:
        return engine.get_trade(acct(request), request.path_params["spec"])

    async def close_trade(request: Request) -> Any:
        body = await _body(request, empty_ok=True)
        return engine.close_trade(
            acct(request), request.path_params["spec"], body.get("units", "ALL")
        )

    async def trade_extensions(request: Request) -> Any:
        body = await _body(request)
        return engine.set_trade_extensions(acct(request), request.path_params["spec"], body)

    async def trade_orders(request: Request) -> Any:
        body = await _body(request)
        return engine.set_trade_orders(acct(request), request.path_params["spec"], body)

    # positions
    async def positions(request: Request) -> Any:
        return engine.list_positions(acct(request))

    async def open_positions(request: Request) -> Any:
        return engine.list_positions(acct(request), open_only=True)

    async def position(request: Request) -> Any:
        return engine.get_position(acct(request), request.path_params["instrument"])

    async def close_position(request: Request) -> Any:
        body = await _body(request)
        return engine.close_position(acct(request), request.path_params["instrument"], body)

    # transactions
    async def transactions(request: Request) -> Any:
        types = _types(request)
        out = engine.transaction_pages(
            acct(request),
            _time(request, "from"),
            _time(request, "to"),
            _int(request, "pageSize", 100, 1, 1000),
            types,
        )
        base = f"{str(request.base_url).rstrip('/')}/v3/accounts/{acct(request)}/transactions"
        extra = f"&type={','.join(types)}" if types else ""
        out["pages"] = [f"{base}/idrange?from={a}&to={b}{extra}" for a, b in out["pages"]]
        return out

    async def idrange(request: Request) -> Any:
        return engine.transactions_range(
            acct(request), _int(request, "from"), _int(request, "to"), _types(request)
        )

    async def sinceid(request: Request) -> Any:
        return engine.transactions_since(acct(request), _int(request, "id"))

    async def transaction(request: Request) -> Any:
        return engine.get_transaction(acct(request), request.path_params["tx_id"])

    async def stream(request: Request) -> Response:
        fmt = _fmt(request)
        account_id = acct(request)
        engine.last_transaction_id(account_id)  # 404 for an unknown account
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        def listener(aid: str, tx: dict[str, Any]) -> None:
            if aid == account_id:
                loop.call_soon_threadsafe(queue.put_nowait, tx)

        unsubscribe = engine.subscribe(listener)

        async def lines() -> AsyncIterator[bytes]:
            try:
                while True:
                    try:
                        tx = await asyncio.wait_for(queue.get(), timeout=heartbeat_s)
                    except TimeoutError:
                        beat = {
                            "type": "HEARTBEAT",
                            "lastTransactionID": engine.last_transaction_id(account_id),
                            "time": format_time(engine.now(), fmt),
                        }
                        yield (json.dumps(beat) + "\n").encode()
                        continue
                    yield (json.dumps(scrub(in_format(tx, fmt))) + "\n").encode()
            finally:
                unsubscribe()

        return StreamingResponse(lines(), media_type="application/octet-stream")

    a = "/v3/accounts/{account_id}"
    routes = [
        ("/v3/accounts", accounts, "GET", 200),
        (a, account, "GET", 200),
        (f"{a}/summary", summary, "GET", 200),
        (f"{a}/instruments", instruments, "GET", 200),
        (f"{a}/changes", changes, "GET", 200),
        (f"{a}/configuration", configuration, "PATCH", 200),
        (f"{a}/orders", create_order, "POST", 201),
        (f"{a}/orders", list_orders, "GET", 200),
        (f"{a}/pendingOrders", pending_orders, "GET", 200),
        (f"{a}/orders/{{spec}}", get_order, "GET", 200),
        (f"{a}/orders/{{spec}}", replace_order, "PUT", 201),
        (f"{a}/orders/{{spec}}/cancel", cancel_order, "PUT", 200),
        (f"{a}/orders/{{spec}}/clientExtensions", order_extensions, "PUT", 200),
        (f"{a}/trades", list_trades, "GET", 200),
        (f"{a}/openTrades", open_trades, "GET", 200),
        (f"{a}/trades/{{spec}}", get_trade, "GET", 200),
        (f"{a}/trades/{{spec}}/close", close_trade, "PUT", 200),
        (f"{a}/trades/{{spec}}/clientExtensions", trade_extensions, "PUT", 200),
        (f"{a}/trades/{{spec}}/orders", trade_orders, "PUT", 200),
        (f"{a}/positions", positions, "GET", 200),
        (f"{a}/openPositions", open_positions, "GET", 200),
        (f"{a}/positions/{{instrument}}", position, "GET", 200),
        (f"{a}/positions/{{instrument}}/close", close_position, "PUT", 200),
        (f"{a}/transactions", transactions, "GET", 200),
        (f"{a}/transactions/idrange", idrange, "GET", 200),
        (f"{a}/transactions/sinceid", sinceid, "GET", 200),
        (f"{a}/transactions/{{tx_id}}", transaction, "GET", 200),
    ]
    # one Route per path, dispatching on the method (Starlette would 405 on a second Route)
    by_path: dict[str, dict[str, Handler]] = {}
    for path, fn, method, status in routes:
        by_path.setdefault(path, {})[method] = endpoint(fn, status)
    out = [Route(f"{a}/transactions/stream", stream, methods=["GET"])]
    for path, handlers in by_path.items():
        out.append(Route(path, _dispatch(handlers), methods=list(handlers)))
    return out


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    if len(handlers) == 1:
        return next(iter(handlers.values()))

    async def handle(request: Request) -> Response:
        return await handlers[request.method](request)

    return handle
