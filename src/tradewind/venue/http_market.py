"""Market routes: candles, pricing and the pricing stream (newline-delimited JSON)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tradewind.venue.candles import candles_body
from tradewind.venue.prices import LIQUIDITY, NS, PriceSource
from tradewind.venue.quotes import Quote
from tradewind.venue.wire import TimeFormat, VenueError, bad_value, format_time, time_format

AccountCheck = Callable[[str], bool]
# (account, quotes, units=, home=) -> {"unitsAvailable": {name: ...}, "homeConversions": [...]}
PricingExtras = Callable[..., dict[str, Any]]


def client_price(q: Quote, places: int, fmt: TimeFormat = "RFC3339") -> dict[str, Any]:
    """v20's ClientPrice for a quote (closeout prices: the deepest level)."""
    return {
        "type": "PRICE",
        "instrument": q.instrument,
        "time": format_time(q.time_ns, fmt),
        "status": "tradeable" if q.tradeable else "non-tradeable",
        "tradeable": q.tradeable,
        "bids": [{"price": f"{p:.{places}f}", "liquidity": int(n)} for p, n in q.bids],
        "asks": [{"price": f"{p:.{places}f}", "liquidity": int(n)} for p, n in q.asks],
        "closeoutBid": f"{q.bids[-1][0]:.{places}f}",
        "closeoutAsk": f"{q.asks[-1][0]:.{places}f}",
    }


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


class StreamFormatter:
    """Renders ticks as ClientPrice lines, fast (identical to ``client_price``'s JSON)."""

    def __init__(self, source: PriceSource, fmt: TimeFormat) -> None:
        self.source, self.fmt = source, fmt
        self._secs: dict[int, str] = {}

    def time(self, t: int) -> str:
        if self.fmt == "UNIX":
            return format_time(t, "UNIX")
        s, frac = divmod(t, NS)
        head = self._secs.get(s)
        if head is None:
            if len(self._secs) > 4096:
                self._secs.clear()
            head = self._secs[s] = format_time(s * NS)[:19]
        return f"{head}.{frac:09d}Z"

    def lines(self, name: str, times: np.ndarray, bids: np.ndarray, asks: np.ndarray) -> list[str]:
        ins = self.source.instruments[name]
        p = ins.displayPrecision
        step = 10.0**-p
        n0, n1, n2 = (int(x) for x in LIQUIDITY)
        out = []
        for t, b, a in zip(times.tolist(), bids.tolist(), asks.tolist(), strict=True):
            spread = max(a - b, step)
            gap = max(step, round(spread * 0.2 / step) * step)
            tradeable = self.source.tradeable(name, t)
            b1, b2 = round(b - gap, p), round(b - 2 * gap, p)
            a1, a2 = round(a + gap, p), round(a + 2 * gap, p)
            out.append(
                f'{{"type":"PRICE","instrument":"{name}","time":"{self.time(t)}",'
                f'"status":"{"tradeable" if tradeable else "non-tradeable"}",'
                f'"tradeable":{"true" if tradeable else "false"},'
                f'"bids":[{{"price":"{b:.{p}f}","liquidity":{n0}}},'
                f'{{"price":"{b1:.{p}f}","liquidity":{n1}}},'
                f'{{"price":"{b2:.{p}f}","liquidity":{n2}}}],'
                f'"asks":[{{"price":"{a:.{p}f}","liquidity":{n0}}},'
                f'{{"price":"{a1:.{p}f}","liquidity":{n1}}},'
                f'{{"price":"{a2:.{p}f}","liquidity":{n2}}}],'
                f'"closeoutBid":"{b2:.{p}f}","closeoutAsk":"{a2:.{p}f}"}}\n'
            )
        return out


def _pricing_body(
    source: PriceSource, quotes: list[Quote], more: dict[str, Any], fmt: TimeFormat
) -> dict[str, Any]:
    """``prices`` (with their ``unitsAvailable`` if ``more`` has them) and ``homeConversions``
    (if ``more`` has them)."""
    prices = []
    for q in quotes:
        price = client_price(q, source.instruments[q.instrument].displayPrecision, fmt)
        if q.instrument in more.get("unitsAvailable", {}):
            price["unitsAvailable"] = more["unitsAvailable"][q.instrument]
        prices.append(price)
    body: dict[str, Any] = {"prices": prices}
    if "homeConversions" in more:
        body["homeConversions"] = more["homeConversions"]
    return body


def _flag(request: Request, name: str, default: bool) -> bool:
    text = request.query_params.get(name)
    if text is None:
        return default
    if text.lower() not in ("true", "false"):
        raise bad_value(name)
    return text.lower() == "true"


def _instruments(request: Request, source: PriceSource) -> list[str]:
    raw = request.query_params.get("instruments")
    if not raw:
        raise bad_value("instruments")
    names = [s for s in raw.split(",") if s]
    if not names or any(n not in source.instruments for n in names):
        raise VenueError(400, f"Invalid value specified for 'instruments': {raw}", "INVALID_VALUE")
    return list(dict.fromkeys(names))


def market_routes(
    source: PriceSource,
    *,
    account_exists: AccountCheck | None = None,
    heartbeat_s: float = 5.0,
    poll_s: float = 0.02,
    extras: PricingExtras | None = None,
) -> list[Route]:
    clock = source.clock

    def account(request: Request) -> str:
        aid = request.path_params["account_id"]
        if account_exists is not None and not account_exists(aid):
            raise VenueError(404, "The Account specified does not exist")
        return aid

    async def candles(request: Request) -> Response:
        if "account_id" in request.path_params:
            account(request)
        fmt = time_format(request.headers.get("Accept-Datetime-Format"))
        name = request.path_params["instrument"]
        params = dict(request.query_params)
        body = await asyncio.to_thread(candles_body, source, name, params, clock.now_ns(), fmt)
        return JSONResponse(body)

    async def pricing(request: Request) -> Response:
        aid = account(request)
        fmt = time_format(request.headers.get("Accept-Datetime-Format"))
        names = _instruments(request, source)
        since = request.query_params.get("since")
        from tradewind.venue.wire import parse_time

        since_ns = parse_time(since, "since") if since else None
        units = _flag(request, "includeUnitsAvailable", True)
        home = _flag(request, "includeHomeConversions", False)
        now = clock.now_ns()
        quotes = [
            q
            for q in (source.latest(n, now) for n in names)
            if q is not None and (since_ns is None or q.time_ns > since_ns)
        ]
        more = extras(aid, quotes, units=units, home=home) if extras is not None else {}
        return JSONResponse(
            {**_pricing_body(source, quotes, more, fmt), "time": format_time(now, fmt)}
        )

    async def stream(request: Request) -> Response:
        account(request)
        fmt = time_format(request.headers.get("Accept-Datetime-Format"))
        names = _instruments(request, source)
        snap = request.query_params.get("snapshot", "true").lower()
        if snap not in ("true", "false"):
            raise bad_value("snapshot")
        return StreamingResponse(
            _price_stream(source, names, fmt, snap == "true", heartbeat_s, poll_s),
            media_type="application/octet-stream",
        )

    return [
        Route("/v3/instruments/{instrument}/candles", candles, methods=["GET"]),
        Route(
            "/v3/accounts/{account_id}/instruments/{instrument}/candles", candles, methods=["GET"]
        ),
        Route("/v3/accounts/{account_id}/pricing", pricing, methods=["GET"]),
        Route("/v3/accounts/{account_id}/pricing/stream", stream, methods=["GET"]),
    ]


async def _price_stream(
    source: PriceSource,
    names: list[str],
    fmt: TimeFormat,
    snapshot: bool,
    heartbeat_s: float,
    poll_s: float,
) -> AsyncIterator[bytes]:
    clock = source.clock
    loop = asyncio.get_running_loop()
    fmtr = StreamFormatter(source, fmt)
    last = clock.now_ns()
    if snapshot:
        chunk = []
        for n in names:
            q = source.latest(n, last)
            if q is not None:
                places = source.instruments[n].displayPrecision
                chunk.append(_line(client_price(q, places, fmt)))
        if chunk:
            yield b"".join(chunk)
    next_hb = loop.time()
    max_span = 60 * NS  # at most a simulated minute per chunk (bounded chunks on a fast clock)
    while True:
        now = clock.now_ns()
        if now > last:
            hi = min(now, last + max_span)
            lines = _tick_lines(source, fmtr, names, last, hi)
            last = hi
            if lines:
                yield "".join(lines).encode()
        if loop.time() >= next_hb:
            next_hb = loop.time() + heartbeat_s
            yield _line({"type": "HEARTBEAT", "time": format_time(clock.now_ns(), fmt)})
        if last >= now:
            await asyncio.sleep(poll_s)
        else:
            await asyncio.sleep(0)


def _tick_lines(
    source: PriceSource, fmtr: StreamFormatter, names: list[str], t0: int, t1: int
) -> list[str]:
    """Every instrument's ticks in ``(t0, t1]`` as lines, in time order."""
    keyed: list[tuple[int, int, str]] = []
    for k, n in enumerate(names):
        ticks = source.ticks(n, t0, t1)
        if len(ticks) == 0:
            continue
        lines = fmtr.lines(n, ticks.time, ticks.bid, ticks.ask)
        keyed.extend(zip(ticks.time.tolist(), [k] * len(lines), lines, strict=True))
    if len(names) > 1:
        keyed.sort(key=lambda x: (x[0], x[1]))
    return [x[2] for x in keyed]
