"""oandapyV20's failures -> the platform's broker errors.

oandapyV20 raises ``V20Error(code, body)`` for statuses >= 400, ``ValueError`` when a 2xx/3xx
status is not the one it expects (201 for order create/replace, 200 otherwise) or the body is
not JSON, and lets requests' exceptions (timeouts, dropped connections) through.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from oandapyV20.exceptions import V20Error

from tradewind.broker.errors import (
    AuthError,
    BrokerError,
    BrokerUnavailable,
    NotFound,
    RateLimited,
    RejectedOrder,
)

RETRYABLE = (RateLimited, BrokerUnavailable)


def parse_body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def reject_transaction(body: dict[str, Any]) -> dict[str, Any] | None:
    """The ``*RejectTransaction`` of an error body (order, replace, close), if any."""
    for key, value in body.items():
        if key.endswith("RejectTransaction") and isinstance(value, dict):
            return value
    return None


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def map_error(exc: BaseException, what: str, scrub: Any = None) -> BrokerError:
    """The broker error for ``exc`` raised while doing ``what``; ``scrub(text)`` removes
    secrets from any text that came from the wire."""
    clean = scrub or (lambda s: s)
    if isinstance(exc, BrokerError):
        return exc
    if isinstance(exc, V20Error):
        status = int(exc.code)
        body = parse_body(exc.msg)
        code = body.get("errorCode")
        detail = body.get("errorMessage") or _short(exc.msg) or "no detail"
        message = clean(f"{what}: HTTP {status}: {detail}" + (f" [{code}]" if code else ""))
        reject = reject_transaction(body)
        if reject is not None:
            reason = reject.get("rejectReason") or code
            return RejectedOrder(
                clean(f"{what}: rejected: {reason}: {detail}"),
                reason=reason,
                transaction=reject,
                status=status,
                code=code,
                client_id=(reject.get("clientExtensions") or {}).get("id"),
            )
        if status in (401, 403):
            return AuthError(message, status=status, code=code)
        if status == 404:
            return NotFound(message, status=status, code=code)
        if status == 429:
            return RateLimited(message, status=status, code=code)
        if status >= 500:
            return BrokerUnavailable(message, status=status, code=code)
        return BrokerError(message, status=status, code=code)
    if isinstance(exc, requests.Timeout):
        return BrokerUnavailable(clean(f"{what}: timed out ({type(exc).__name__})"))
    if isinstance(exc, requests.RequestException):
        return BrokerUnavailable(clean(f"{what}: connection failed ({type(exc).__name__})"))
    if isinstance(exc, ValueError):  # unexpected 2xx/3xx status, or a body that is not JSON
        return BrokerUnavailable(clean(f"{what}: unexpected response: {_short(str(exc))}"))
    return BrokerError(clean(f"{what}: {type(exc).__name__}: {_short(str(exc))}"))


def never_sent(exc: BaseException) -> bool:
    """True when the request certainly never reached the server (the connection was never
    made), so an order cannot have been placed."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", None)
        return type(inner).__name__ in ("NewConnectionError", "NameResolutionError")
    return False
