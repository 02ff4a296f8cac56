"""The error statuses OANDA's v20 description lists for each operation (from
``tests/data/oanda-v20-openapi/v20v3.json``; regenerate if it changes). The app answers an
unknown account with 400 where an operation lists 400 and not 404 (account details, summary,
instruments), as v20 does; and a bad request where the operation lists no 400 with a status it
does list: 416 on ``/changes`` (its only range, ``sinceTransactionID``), else 404."""

from __future__ import annotations

import re

ERROR_STATUSES: dict[tuple[str, str], frozenset[int]] = {
    ("GET", "/v3/accounts"): frozenset({401, 405}),
    ("GET", "/v3/accounts/{accountID}"): frozenset({400, 401, 405}),
    ("GET", "/v3/accounts/{accountID}/candles/latest"): frozenset({400, 401, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/changes"): frozenset({401, 404, 405, 416}),
    ("PATCH", "/v3/accounts/{accountID}/configuration"): frozenset({400, 401, 403, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/instruments"): frozenset({400, 401, 405}),
    ("GET", "/v3/accounts/{accountID}/instruments/{instrument}/candles"): frozenset(
        {400, 401, 404, 405}
    ),
    ("GET", "/v3/accounts/{accountID}/openPositions"): frozenset({401, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/openTrades"): frozenset({401, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/orders"): frozenset({400, 404, 405}),
    ("POST", "/v3/accounts/{accountID}/orders"): frozenset({400, 401, 403, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/orders/{orderSpecifier}"): frozenset({401, 404, 405}),
    ("PUT", "/v3/accounts/{accountID}/orders/{orderSpecifier}"): frozenset({400, 401, 404, 405}),
    ("PUT", "/v3/accounts/{accountID}/orders/{orderSpecifier}/cancel"): frozenset({401, 404, 405}),
    ("PUT", "/v3/accounts/{accountID}/orders/{orderSpecifier}/clientExtensions"): frozenset(
        {400, 401, 404, 405}
    ),
    ("GET", "/v3/accounts/{accountID}/pendingOrders"): frozenset({401, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/positions"): frozenset({401, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/positions/{instrument}"): frozenset({401, 404, 405}),
    ("PUT", "/v3/accounts/{accountID}/positions/{instrument}/close"): frozenset(
        {400, 401, 404, 405}
    ),
    ("GET", "/v3/accounts/{accountID}/pricing"): frozenset({400, 401, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/pricing/stream"): frozenset({400, 401, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/summary"): frozenset({400, 401, 405}),
    ("GET", "/v3/accounts/{accountID}/trades"): frozenset({401, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/trades/{tradeSpecifier}"): frozenset({401, 404, 405}),
    ("PUT", "/v3/accounts/{accountID}/trades/{tradeSpecifier}/clientExtensions"): frozenset(
        {400, 401, 404, 405}
    ),
    ("PUT", "/v3/accounts/{accountID}/trades/{tradeSpecifier}/close"): frozenset(
        {400, 401, 404, 405}
    ),
    ("PUT", "/v3/accounts/{accountID}/trades/{tradeSpecifier}/orders"): frozenset(
        {400, 401, 404, 405}
    ),
    ("GET", "/v3/accounts/{accountID}/transactions"): frozenset({400, 401, 403, 404, 405, 416}),
    ("GET", "/v3/accounts/{accountID}/transactions/idrange"): frozenset({400, 401, 404, 405, 416}),
    ("GET", "/v3/accounts/{accountID}/transactions/sinceid"): frozenset({400, 401, 404, 405, 416}),
    ("GET", "/v3/accounts/{accountID}/transactions/stream"): frozenset({400, 401, 404, 405}),
    ("GET", "/v3/accounts/{accountID}/transactions/{transactionID}"): frozenset({401, 404, 405}),
    ("GET", "/v3/instruments/{instrument}/candles"): frozenset({400, 401, 404, 405}),
    ("GET", "/v3/instruments/{instrument}/orderBook"): frozenset({400, 401, 404, 405}),
    ("GET", "/v3/instruments/{instrument}/positionBook"): frozenset({400, 401, 404, 405}),
}


def _shape(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template)


_BY_SHAPE = {(m, _shape(t)): v for (m, t), v in ERROR_STATUSES.items()}


_PATTERNS = [
    (m, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", t) + "$"), v)
    for (m, t), v in sorted(ERROR_STATUSES.items(), key=lambda kv: kv[0][1].count("{"))
]


def fitting_status(method: str, template: str, status: int) -> int:
    """``status`` when the operation lists it (or is not one of v20's); else the listed
    status that fits: 400 for a 404, and for a 400 416 (``/changes``) or 404 (``template``
    is a route path; its parameter names do not matter)."""
    return _fit(_BY_SHAPE.get((method, _shape(template))), status)


def status_for_path(method: str, path: str, status: int) -> int:
    """``fitting_status`` for a concrete request path (``/v3/accounts/1-2-3-4/changes``)."""
    for m, pattern, allowed in _PATTERNS:
        if m == method and pattern.match(path):
            return _fit(allowed, status)
    return status


def _fit(allowed: frozenset[int] | None, status: int) -> int:
    if not allowed or status in allowed:
        return status
    if status == 404 and 400 in allowed:
        return 400
    if status == 400:
        for other in (416, 404):
            if other in allowed:
                return other
    return status
