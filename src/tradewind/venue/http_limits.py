"""What a client may send the venue, and how slowly: v20 requests are small and quick.

* ``BodyLimitMiddleware`` (ASGI): a body larger than ``max_body_bytes`` (by its
  Content-Length, or as it arrives) is answered 413 with v20's error body before any route
  sees it; smaller bodies are read in full and handed on.
* ``protocol_class(limits)``: uvicorn's httptools protocol with a deadline for the request
  head (from its first byte) and one for the body (from the end of the head); a request still
  incomplete at its deadline has its connection closed (a trickled request holds nothing for
  long). A head over ``max_head_bytes``, or one the parser refuses, gets v20's JSON error body
  with a ``RequestID`` (uvicorn's own answer is plain text without one), at the status the
  operation lists (``statuses.status_for_path``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tradewind.venue.faults import ASGIApp, Message, Receive, Scope, Send
from tradewind.venue.statuses import status_for_path

_IDS = itertools.count(1)
_REASONS = {400: b"Bad Request", 404: b"Not Found", 413: b"Content Too Large"}


@dataclass(frozen=True)
class HttpLimits:
    max_body_bytes: int = 64 * 1024
    max_head_bytes: int = 64 * 1024  # request line and headers
    head_timeout_s: float = 5.0  # first byte of a request -> end of its head
    body_timeout_s: float = 5.0  # end of the head -> end of the body
    keep_alive_s: float = 5.0  # an idle connection between requests (uvicorn's own)


def next_request_id() -> bytes:
    """A ``RequestID`` value, unique within the process."""
    return str(10**17 + next(_IDS)).encode()


def error_body(message: str, code: str | None = None) -> bytes:
    body: dict[str, str] = {"errorCode": code} if code else {}
    return json.dumps({**body, "errorMessage": message}).encode()


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._too_large(send)
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None  # the client went away (or was too slow): nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await self._too_large(send)
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # later: the disconnect a stream waits for
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        return await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        body = error_body(f"The request body exceeds {self.max_bytes} bytes")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the rest of the body is not read
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _LimitedProtocol(HttpToolsProtocol):
    limits: ClassVar[HttpLimits] = HttpLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes = self._feeding = 0
        self._in_head = False
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._feeding = len(data)
        super().data_received(data)
        self._feeding = 0
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_head_bytes:
                self._answer(400, self._head_too_large())

    def _head_size(self) -> int:
        """The bytes of the request line and headers the parser has handed over so far."""
        url = len(getattr(self, "url", b""))
        return url + sum(len(n) + len(v) + 4 for n, v in getattr(self, "headers", []))

    def _head_too_large(self) -> str:
        return f"The request line and headers exceed {self.limits.max_head_bytes} bytes"

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0
        self._arm(self.limits.head_timeout_s)

    def on_headers_complete(self) -> None:
        if self._head_size() > self.limits.max_head_bytes:
            raise httptools.HttpParserError("head too large")  # -> send_400_response
        self._in_head = False
        self._arm(self.limits.body_timeout_s)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        # the parser refused the request: a head past its own limit, or not HTTP at all
        limit = self.limits.max_head_bytes
        big = self._head_size() > limit or (
            self._in_head and self._head_bytes + self._feeding > limit
        )
        self._answer(400, self._head_too_large() if big else "The request is not valid HTTP")

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.logger.warning("venue: closed a connection that sent a request too slowly")
            self.transport.close()

    def _answer(self, status: int, message: str) -> None:
        """v20's error body straight onto the transport, then close it (no app involved)."""
        self._disarm()
        self._in_head = False
        try:
            method = self.parser.get_method().decode("ascii", "replace")
        except Exception:  # the parser had not read a method yet
            method = ""
        path = bytes(getattr(self, "url", b"")).split(b"?", 1)[0].decode("latin-1")
        status = status_for_path(method, path, status)
        body = error_body(message)
        head = [
            b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"Error")),
            b"content-type: application/json",
            b"content-length: %d" % len(body),
            b"requestid: " + next_request_id(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()


def protocol_class(limits: HttpLimits) -> type[HttpToolsProtocol]:
    """uvicorn's ``http`` protocol class holding to ``limits``."""
    return type("VenueHttpProtocol", (_LimitedProtocol,), {"limits": limits})
