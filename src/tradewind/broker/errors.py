"""What can go wrong talking to a broker, in the platform's terms (never the client's)."""

from __future__ import annotations

from typing import Any

from tradewind.domain.broker import BrokerEvent


class BrokerError(Exception):
    """Any broker failure. ``status`` is the HTTP status when there was one; ``code`` the
    broker's error code (OANDA's ``errorCode``) when it gave one."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class AuthError(BrokerError):
    """The token was refused (401/403), or no token could be found."""


class RateLimited(BrokerError):
    """The broker said 429: too many requests. Nothing was done."""


class NotFound(BrokerError):
    """The order, trade, position, account or instrument does not exist (404)."""


class BrokerUnavailable(BrokerError):
    """The broker could not be reached or failed (timeouts, dropped connections, 5xx).

    Raised for an order only when the adapter has established that the order was *not*
    placed; otherwise it raises ``UnknownOutcome``."""


class RejectedOrder(BrokerError):
    """The broker refused the order: ``reason`` (e.g. ``INSUFFICIENT_MARGIN``), the reject as
    a domain ``event`` (an ``OrderRejected``, or None when the answer had no reject
    transaction) and the broker's own ``transaction`` (its payload, for the record)."""

    def __init__(
        self,
        message: str,
        *,
        reason: str | None,
        transaction: dict[str, Any] | None = None,
        status: int | None = None,
        code: str | None = None,
        client_id: str | None = None,
        event: BrokerEvent | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.reason = reason
        self.transaction = transaction
        self.client_id = client_id
        self.event = event


class UnknownOutcome(BrokerError):
    """An order-changing call was sent and the adapter cannot tell whether the broker acted:
    the answer was lost (or was a 5xx) and lookups over the grace window neither found it nor
    found a reject. Never resend: resolve later, an order with ``resolve_order(client_id)``
    (``client_id`` is None for a trade or position close), a close from the transactions after
    ``since_id`` (the last transaction id known before the call)."""

    def __init__(
        self,
        message: str,
        *,
        client_id: str | None,
        cause: str | None = None,
        since_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.client_id = client_id
        self.cause = cause
        self.since_id = since_id
