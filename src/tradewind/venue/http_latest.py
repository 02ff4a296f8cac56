"""``GET /v3/accounts/{id}/candles/latest``: for each candle specification
(``EUR_USD:S10:BM``: instrument, granularity, price components) the most recently completed
candle and the one still forming, as v20's ``latestCandles``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tradewind.venue.candles import GRANULARITIES, candles_body
from tradewind.venue.prices import PriceSource
from tradewind.venue.wire import VenueError, bad_value, time_format

# the query parameters that shape every specification's candles
_SHARED = ("smooth", "dailyAlignment", "alignmentTimezone", "weeklyAlignment")
_DECIMAL_CHARS = set("0123456789.")


def parse_specifications(text: str | None, source: PriceSource) -> list[tuple[str, str, str]]:
    """``[(instrument, granularity, components)]`` from ``candleSpecifications``; a 400
    that names the specification that is wrong."""
    if not text or not text.strip():
        raise VenueError(400, "Missing value for 'candleSpecifications'", "INVALID_VALUE")
    out = []
    for spec in (s.strip() for s in text.split(",")):
        parts = spec.split(":")
        problem = None
        if len(parts) != 3:
            problem = "expected INSTRUMENT:GRANULARITY:COMPONENTS"
        elif parts[0] not in source.instruments:
            problem = f"unknown instrument {parts[0]!r}"
        elif parts[1] not in GRANULARITIES:
            problem = f"unknown granularity {parts[1]!r}"
        elif (
            not parts[2]
            or any(c not in "MBA" for c in parts[2])
            or len(set(parts[2])) < len(parts[2])
        ):
            problem = f"price components are some of M, B and A, not {parts[2]!r}"
        if problem:
            raise VenueError(
                400,
                f"Invalid value specified for 'candleSpecifications': {spec!r}: {problem}",
                "INVALID_VALUE",
            )
        out.append((parts[0], parts[1], parts[2]))
    return out


def _decimal(text: str) -> bool:
    return bool(text) and set(text) <= _DECIMAL_CHARS and text.count(".") <= 1 and text != "."


def latest_candles_routes(
    source: PriceSource, account_exists: Callable[[str], bool] | None = None
) -> list[Route]:
    async def latest(request: Request) -> Response:
        aid = request.path_params["account_id"]
        if account_exists is not None and not account_exists(aid):
            raise VenueError(404, "The Account specified does not exist")
        fmt = time_format(request.headers.get("Accept-Datetime-Format"))
        specs = parse_specifications(request.query_params.get("candleSpecifications"), source)
        units = request.query_params.get("units")
        if units is not None and not _decimal(units):
            raise bad_value("units")  # accepted, not used: candles are not VWAP'd by size
        shared = {k: v for k, v in request.query_params.items() if k in _SHARED}
        now = source.clock.now_ns()

        def build() -> list[dict[str, Any]]:
            return [
                candles_body(
                    source, name, {**shared, "granularity": g, "price": c, "count": "2"}, now, fmt
                )
                for name, g, c in specs
            ]

        return JSONResponse({"latestCandles": await asyncio.to_thread(build)})

    return [Route("/v3/accounts/{account_id}/candles/latest", latest, methods=["GET"])]
