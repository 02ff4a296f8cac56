"""The venue's ASGI app: market and trading routes behind Bearer auth, fault injection, a
``RequestID`` on every response and v20's error bodies (``VenueError`` -> its status and
body; unknown path 404, wrong method 405; anything unexpected 500 and a log line)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewind.venue.clock import Clock, check_instant
from tradewind.venue.faults import (
    ASGIApp,
    Fault,
    FaultConfigError,
    FaultMiddleware,
    Faults,
    Message,
    Receive,
    Scope,
    Send,
)
from tradewind.venue.http_latest import latest_candles_routes
from tradewind.venue.http_limits import BodyLimitMiddleware, HttpLimits, next_request_id
from tradewind.venue.http_market import market_routes
from tradewind.venue.responses import VenueJSONResponse
from tradewind.venue.statuses import fitting_status
from tradewind.venue.wire import VenueError, check_text, parse_time, unauthorized

if TYPE_CHECKING:
    from tradewind.venue.service import Venue

log = logging.getLogger("tradewind.venue")
NS = 1_000_000_000
_MAX_STEP_S = 300 * 365 * 86_400  # no jump within the clock's bounds is longer
_UNAUTHORIZED = json.dumps(unauthorized().body()).encode()


class RequestIdMiddleware:
    """Adds ``RequestID`` to every response; turns an unexpected exception into a 500 with an
    error body (and logs it) when no response has started."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = next_request_id()  # shared with the HTTP protocol's own error answers
        started = False

        async def with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), (b"requestid", rid)]}
            await send(message)

        try:
            return await self.app(scope, receive, with_id)
        except Exception:
            log.exception("venue: unexpected error on %s %s", scope["method"], scope["path"])
            if started:
                raise
            body = json.dumps({"errorMessage": "An unexpected error occurred"}).encode()
            await with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return None


class BearerAuthMiddleware:
    """401 with v20's body unless ``Authorization: Bearer <token>`` matches."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        auth = b""
        for k, v in scope.get("headers", []):
            if k == b"authorization":
                auth = v
                break
        scheme, _, given = auth.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self.token):
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(_UNAUTHORIZED)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _UNAUTHORIZED})
            return None
        return await self.app(scope, receive, send)


async def _venue_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VenueError)
    route = request.scope.get("route")
    template = getattr(route, "path", "")
    status = fitting_status(request.method, template, exc.status)
    return VenueJSONResponse(exc.body(), status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return JSONResponse(
            {"errorMessage": "The requested URL was not found on this server"}, status_code=404
        )
    if exc.status_code == 405:
        return JSONResponse(
            {"errorMessage": "The requested method is not allowed for the URL"},
            status_code=405,
            headers=dict(exc.headers or {}),
        )
    return JSONResponse({"errorMessage": str(exc.detail)}, status_code=exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette's ServerErrorMiddleware answers an unhandled exception before our outer
    # middleware sees it: without this handler the body is plain text, not v20's error body.
    # The server closes the connection after an unhandled error: say so, so that a keep-alive
    # client does not send its next request down a connection being torn down.
    return JSONResponse(
        {"errorMessage": "An unexpected error occurred"},
        status_code=500,
        headers={"Connection": "close"},
    )


def admin_routes(venue: Venue) -> list[Route]:
    async def body(request: Request) -> Any:
        try:
            return check_text(await request.json())
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise VenueError(400, "The request body is not valid JSON", "INVALID_VALUE") from None

    async def get_faults(request: Request) -> Response:
        return JSONResponse(venue.faults.to_json())

    async def post_faults(request: Request) -> Response:
        data = await body(request)
        try:
            rules = _fault_rules(venue.faults, data)
            added = venue.faults.add([Fault.from_dict(dict(r)) for r in rules])
        except (FaultConfigError, TypeError, ValueError) as exc:
            raise VenueError(400, f"Invalid fault: {exc}", "INVALID_VALUE") from None
        return JSONResponse(
            {"added": [r.to_json() for r in added], **venue.faults.to_json()}, status_code=200
        )

    async def post_clock(request: Request) -> Response:
        data = await body(request)
        try:
            _change_clock(venue.clock, data)
        except ValueError as exc:
            raise VenueError(400, f"Invalid clock change: {exc}", "INVALID_VALUE") from None
        venue.pump_quotes()  # pending orders see the prices the step passed over
        return JSONResponse(venue.clock.describe())

    async def get_clock(request: Request) -> Response:
        return JSONResponse(venue.clock.describe())

    return [
        Route("/admin/faults", get_faults, methods=["GET"]),
        Route("/admin/faults", post_faults, methods=["POST"]),
        Route("/admin/clock", get_clock, methods=["GET"]),
        Route("/admin/clock", post_clock, methods=["POST"]),
    ]


def _fault_rules(faults: Faults, data: Any) -> list[Any]:
    """The rules a ``POST /admin/faults`` adds: one rule, a list of them, or
    ``{"faults": [...]}``; ``clear`` (or ``replace``) first clears the rules (and reseeds)."""
    if isinstance(data, dict) and data.get("clear"):
        faults.clear(data.get("seed"))
        rules: list[Any] = data.get("faults") or []
    elif isinstance(data, dict) and "faults" in data:
        rules = data["faults"] or []
        if data.get("replace"):
            faults.clear(data.get("seed"))
    elif isinstance(data, dict):
        rules = [data]
    else:
        rules = data if isinstance(data, list) else []
    return rules


def _change_clock(clock: Clock, data: Any) -> None:
    """``{"advance": seconds}`` or ``{"set": time}`` applied to the clock (ValueError saying
    what is wrong, the clock untouched)."""
    if not isinstance(data, dict):
        raise ValueError("expected an object")
    if "advance" in data:
        step = data["advance"]
        if isinstance(step, bool) or not isinstance(step, int | float):
            raise ValueError("advance takes a number of seconds")
        if not 0 <= step <= _MAX_STEP_S:
            raise ValueError(f"advance takes 0..{_MAX_STEP_S} seconds")
        check_instant(clock.now_ns() + round(step * NS))
        clock.advance(step)
    elif "set" in data:
        clock.set(_clock_time(data["set"]))  # ValueError outside the clock's bounds
    else:
        raise ValueError('expected {"advance": seconds} or {"set": time}')


def _clock_time(value: Any) -> int:
    if isinstance(value, str):
        return parse_time(value, "set")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("set takes an RFC3339 time or epoch nanoseconds")


class VenueApp(Starlette):
    """Starlette with the venue's outer middleware (which may close a connection without a
    response: a lost-response fault) wrapped around it."""

    def __init__(
        self, *, token: str, faults: Any, max_body_bytes: int = 64 * 1024, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        # v20 has no trailing-slash paths: 404 with an error body, not a 307 to another path
        self.router.redirect_slashes = False
        inner: ASGIApp = super().__call__
        self._outer = RequestIdMiddleware(
            BodyLimitMiddleware(
                BearerAuthMiddleware(FaultMiddleware(inner, faults), token), max_body_bytes
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        return await self._outer(scope, receive, send)


def create_app(
    venue: Venue, *, trading: bool = True, limits: HttpLimits | None = None
) -> Starlette:
    """The venue's app; ``trading=False`` serves the market routes only (no engine)."""
    routes = [
        *latest_candles_routes(venue.prices, venue.account_exists),
        *market_routes(
            venue.prices,
            account_exists=venue.account_exists,
            heartbeat_s=venue.heartbeat_s,
            extras=getattr(venue.engine, "pricing_extras", None) if trading else None,
        ),
        *admin_routes(venue),
    ]
    if trading:
        from tradewind.venue.http_trading import trading_routes

        routes = [*trading_routes(venue.engine, heartbeat_s=venue.heartbeat_s), *routes]
    return VenueApp(
        token=venue.token,
        faults=venue.faults,
        max_body_bytes=(limits or HttpLimits()).max_body_bytes,
        routes=routes,
        exception_handlers={
            VenueError: _venue_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
