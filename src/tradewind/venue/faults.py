"""Faults on demand: seeded, scriptable misbehaviour wrapped around the venue as ASGI
middleware (never inside the engine).

A fault is a rule: a ``kind``, a ``method`` and a ``path`` pattern (``fnmatch``, e.g.
``/v3/accounts/*/orders``), a ``count`` of times it fires (None: until cleared) and a
``probability`` (a rate, drawn from the seeded generator). Kinds:

- ``latency``: ``ms`` (+- ``jitter_ms``) added before the request runs;
- ``status``: answer ``status`` (429, 500, 503, ...) without running the request; with
  ``apply_ms`` set, the request is applied all the same (a server that fails after acting):
  ``0`` runs it, then answers the status; more than 0 answers the status at once and applies
  the request ``apply_ms`` later (an order that shows up late, after lookups found nothing);
- ``lose_response``: run the request, then close the connection without a response;
- ``stream_drop``: on a stream, after ``after_lines`` lines send half a line and hang up;
- ``torn_line``: on a stream, after ``after_lines`` lines send half a line and a newline;
- ``duplicate``: a stream's price line sent twice;
- ``out_of_order``: two consecutive price lines swapped;
- ``bad_price``: a stream's price line rewritten as a bad tick: ``variant`` ``nan`` (a
  NaN bid), ``zero`` (a zero bid), ``negative``, or ``crossed`` (bid above ask), for
  testing what clients do with ticks no real feed should send;
- ``stale``: a stream stops sending ``instrument``'s prices (heartbeats go on);
- ``halt``: ``instrument`` is not tradeable while the rule is active.

Config (YAML/JSON or the admin endpoint ``POST /admin/faults``):
``{"seed": 1, "faults": [{"kind": "status", "status": 503, "path": "/v3/accounts/*", "count": 2}]}``
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import json
import random
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

Kind = Literal[
    "latency",
    "status",
    "lose_response",
    "stream_drop",
    "torn_line",
    "duplicate",
    "out_of_order",
    "bad_price",
    "stale",
    "halt",
]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]  # a Literal's values
STREAM_KINDS = {"stream_drop", "torn_line", "duplicate", "out_of_order", "bad_price", "stale"}
BAD_PRICES = ("nan", "zero", "negative", "crossed")
REQUEST_KINDS = {"latency", "status", "lose_response"}
_MESSAGES = {
    429: "Requests per second exceeded",
    500: "An unexpected error occurred",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[Any]]


class FaultConfigError(ValueError):
    pass


_MAX_MS = 86_400_000  # a day
Number = Annotated[StrictInt | StrictFloat, Field(ge=0, le=_MAX_MS)]
NonNegative = Annotated[StrictInt, Field(ge=0)]


class FaultSpec(BaseModel):
    """A fault rule as configured: the types and ranges the middleware relies on for every
    request (a string ``ms`` or a numeric ``path`` would otherwise break every later request
    with a 500), checked once, when the rule is added."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: Kind
    method: str = "*"
    path: str = "*"
    count: NonNegative | None = 1
    probability: Annotated[StrictInt | StrictFloat, Field(ge=0, le=1)] = 1.0
    ms: Number = 0.0
    jitter_ms: Number = 0.0
    status: NonNegative = Field(503, validate_default=True)
    after_lines: NonNegative = 0
    instrument: str | None = Field(None, validate_default=True)
    variant: str = Field("nan", validate_default=True)
    apply_ms: Number | None = Field(None, validate_default=True)

    # the fields that depend on ``kind`` (validated first: absent from ``info.data`` if bad)

    @field_validator("status")
    @classmethod
    def _status_code(cls, v: int, info: ValidationInfo) -> int:
        if info.data.get("kind") == "status" and not 400 <= v <= 599:
            raise ValueError("a status fault answers a 4xx or 5xx code")
        return v

    @field_validator("instrument")
    @classmethod
    def _instrument(cls, v: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if kind in ("stale", "halt") and not v:
            raise ValueError(f"a {kind} fault needs an instrument")
        return v

    @field_validator("variant")
    @classmethod
    def _variant(cls, v: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "bad_price" and v not in BAD_PRICES:
            raise ValueError(f"a bad_price variant is one of {', '.join(BAD_PRICES)}")
        return v

    @field_validator("apply_ms")
    @classmethod
    def _apply_ms(cls, v: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("kind")
        if v is not None and kind is not None and kind != "status":
            raise ValueError("apply_ms belongs to a status fault")
        return v


def _describe(exc: ValidationError) -> str:
    """A fault's validation errors, each naming its field: ``ms: Input should be ...``."""
    parts = []
    for e in exc.errors(include_url=False):
        field_name, *member = e["loc"] or ("fault",)
        if e["type"] == "extra_forbidden":
            msg = "unknown fault field"
        elif e["type"] == "value_error":
            msg = str(e["ctx"]["error"])
        elif member and e["type"] in ("int_type", "float_type"):  # a member of int | float
            msg = "Input should be a number"
        else:
            msg = e["msg"]
        got = (
            f" (got {e['input']!r:.60})" if e["type"] not in ("missing", "extra_forbidden") else ""
        )
        parts.append(f"{field_name}: {msg}{got}")
    return "; ".join(dict.fromkeys(parts))


@dataclass
class Fault:
    kind: str
    method: str = "*"
    path: str = "*"
    count: int | None = 1
    probability: float = 1.0
    ms: float = 0.0
    jitter_ms: float = 0.0
    status: int = 503
    after_lines: int = 0
    instrument: str | None = None
    variant: str = "nan"
    apply_ms: float | None = None
    id: int = 0
    fired: int = field(default=0)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fault:
        """A rule from its config; :class:`FaultConfigError` names each bad field."""
        if not isinstance(d, dict):
            raise FaultConfigError("a fault must be an object")
        try:
            spec = FaultSpec.model_validate(d)
        except ValidationError as exc:
            raise FaultConfigError(_describe(exc)) from None
        return cls(**spec.model_dump())

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method.upper() == method.upper()) and (
            fnmatch.fnmatchcase(path, self.path)
        )

    @property
    def active(self) -> bool:
        return self.count is None or self.count > 0

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class Faults:
    """The active fault rules; thread-safe; random draws from one seeded generator."""

    def __init__(self, rules: Iterable[Fault] = (), seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.seed = seed
        self.rng = random.Random(seed)
        self.rules: list[Fault] = []
        self.on_change: list[Callable[[Faults], None]] = []
        self.add(rules)

    @classmethod
    def from_config(cls, data: dict[str, Any] | None) -> Faults:
        data = data or {}
        if not isinstance(data, dict):
            raise FaultConfigError("a faults config is an object with 'seed' and 'faults'")
        unknown = set(data) - {"kind", "name", "seed", "faults"}
        if unknown:
            raise FaultConfigError(f"unknown field(s): {', '.join(sorted(unknown))}")
        rules = [Fault.from_dict(dict(d)) for d in data.get("faults") or []]
        return cls(rules, int(data.get("seed", 0)))

    @classmethod
    def from_file(cls, path: Path) -> Faults:
        import yaml

        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        return cls.from_config(data)

    def add(self, rules: Iterable[Fault]) -> list[Fault]:
        added = []
        with self._lock:
            for r in rules:
                r.id = next(self._ids)
                self.rules.append(r)
                added.append(r)
        self._changed()
        return added

    def clear(self, seed: int | None = None) -> None:
        with self._lock:
            self.rules.clear()
            if seed is not None:
                self.seed, self.rng = seed, random.Random(seed)
        self._changed()

    def _changed(self) -> None:
        for cb in self.on_change:
            cb(self)

    def take(self, kinds: set[str], method: str, path: str) -> list[Fault]:
        """The rules of ``kinds`` that fire for this request (counting each down)."""
        out = []
        changed = False
        with self._lock:
            for r in self.rules:
                if r.kind in kinds and r.active and r.matches(method, path):
                    if r.probability < 1.0 and self.rng.random() >= r.probability:
                        continue
                    if r.count is not None:
                        r.count -= 1
                        changed = changed or r.count == 0
                    r.fired += 1
                    out.append(r)
        if changed:
            self._changed()
        return out

    def stream_rules(self, method: str, path: str) -> list[Fault]:
        with self._lock:
            return [
                r
                for r in self.rules
                if r.kind in STREAM_KINDS and r.active and r.matches(method, path)
            ]

    def fire(self, rule: Fault) -> bool:
        """Count down a stream rule when it acts (False if it is spent or skipped)."""
        with self._lock:
            if not rule.active:
                return False
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                return False
            if rule.count is not None:
                rule.count -= 1
            rule.fired += 1
        if not rule.active:
            self._changed()
        return True

    def halted(self) -> set[str]:
        with self._lock:
            return {
                r.instrument for r in self.rules if r.kind == "halt" and r.active and r.instrument
            }

    def jitter(self, ms: float, jitter_ms: float) -> float:
        with self._lock:
            return max(0.0, ms + (self.rng.uniform(-jitter_ms, jitter_ms) if jitter_ms else 0.0))

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self.seed, "faults": [r.to_json() for r in self.rules]}


def _error(status: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps({"errorMessage": _MESSAGES.get(status, "Injected fault")}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status in (429, 503):
        headers.append((b"retry-after", b"1"))
    return body, headers


class _StreamMangler:
    """Applies the stream faults to the body chunks of one stream response, line by line."""

    def __init__(self, faults: Faults, rules: list[Fault]) -> None:
        self.faults, self.rules = faults, rules
        self.lines = 0
        self.held: bytes | None = None
        self.hang_up = False
        self.buf = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self.buf + chunk
        cut = data.rfind(b"\n") + 1
        self.buf = data[cut:]
        out: list[bytes] = []
        for line in data[:cut].splitlines(keepends=True):
            if self.hang_up:
                break
            self.lines += 1
            out.extend(self._line(line))
        return b"".join(out)

    def _line(self, line: bytes) -> list[bytes]:
        is_price = b'"type":"PRICE"' in line
        for r in self.rules:
            if not r.active or self.lines <= r.after_lines:
                continue
            if r.kind == "stale" and is_price and r.instrument:
                if f'"instrument":"{r.instrument}"'.encode() in line and self.faults.fire(r):
                    return []
            elif r.kind == "stream_drop" and self.faults.fire(r):
                self.hang_up = True
                return [line[: max(1, len(line) // 2)]]
            elif r.kind == "torn_line" and self.faults.fire(r):
                return [line[: max(1, len(line) // 2)] + b"\n"]
            elif r.kind == "duplicate" and is_price and self.faults.fire(r):
                return [line, line]
            elif r.kind == "bad_price" and is_price and self.faults.fire(r):
                return [_bad_price(line, r.variant)]
            elif (
                r.kind == "out_of_order" and is_price and self.held is None and self.faults.fire(r)
            ):
                self.held = line
                return []
        if self.held is not None and is_price:
            held, self.held = self.held, None
            return [line, held]
        return [line]


def _bad_price(line: bytes, variant: str) -> bytes:
    """``line`` (one PRICE message) with its best bid (or, for ``crossed``, its best bid
    above its best ask) made bad."""
    msg = json.loads(line)
    bids, asks = msg.get("bids") or [{}], msg.get("asks") or [{}]
    bad = {"nan": "NaN", "zero": "0.00000", "negative": "-1.00000"}.get(variant)
    if bad is None:  # crossed
        ask = float(asks[0].get("price", "1"))
        bad = f"{ask * 1.001:.5f}"
    bids[0]["price"] = bad
    msg["bids"] = bids
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode()


async def _buffered(receive: Receive) -> Receive:
    """Read the request body now; the returned ``receive`` replays it, then delegates."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


async def _swallow(message: Message) -> None:
    return None


def _detached(receive: Receive) -> Receive:
    """``receive`` (a buffered replay) for a request run after its connection is done: the
    buffered body, then a disconnect."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if not done:
            message = await receive()
            done = message["type"] != "http.request" or not message.get("more_body", False)
            return message
        return {"type": "http.disconnect"}

    return replay


class FaultMiddleware:
    """ASGI middleware applying the request and stream faults (``/admin`` paths exempt)."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app, self.faults = app, faults
        self._late: set[asyncio.Task[Any]] = set()  # requests a status fault applies later

    async def _apply_late(self, scope: Scope, receive: Receive, ms: float) -> None:
        """Run the request, its response discarded: now (``ms`` 0) or ``ms`` later, in the
        background (the fault's status is answered meanwhile)."""
        run = _detached(receive)
        if ms <= 0:
            await self.app(dict(scope), run, _swallow)
            return

        async def later() -> None:
            await asyncio.sleep(ms / 1000.0)
            await self.app(dict(scope), run, _swallow)

        task = asyncio.get_running_loop().create_task(later())
        self._late.add(task)
        task.add_done_callback(self._late.discard)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] != "http" or scope["path"].startswith("/admin"):
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        fired = self.faults.take(REQUEST_KINDS, method, path)
        applied = [r for r in fired if r.kind == "status" and r.apply_ms is not None]
        if any(r.kind == "latency" for r in fired) or applied:
            # A slow server still applies a request whose client gave up waiting: take the
            # body in before the delay, so a disconnect meanwhile does not void the request.
            receive = await _buffered(receive)
        for r in fired:
            if r.kind == "latency":
                await asyncio.sleep(self.faults.jitter(r.ms, r.jitter_ms) / 1000.0)
        status = next((r for r in fired if r.kind == "status"), None)
        if status is not None:
            return await self._answer_status(status, scope, receive, send)
        if any(r.kind == "lose_response" for r in fired):
            await self.app(scope, receive, _swallow)
            # A non-None result makes the server close the connection without a response.
            return "venue fault: response lost after the request was applied"
        rules = self.faults.stream_rules(method, path) if path.endswith("/stream") else []
        if not rules:
            return await self.app(scope, receive, send)
        return await self._mangled_stream(_StreamMangler(self.faults, rules), scope, receive, send)

    async def _answer_status(self, r: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """A status fault's answer (the request applied now or later if ``apply_ms`` says)."""
        if r.apply_ms is not None:
            await self._apply_late(scope, receive, float(r.apply_ms))
        body, headers = _error(int(r.status))
        await send({"type": "http.response.start", "status": int(r.status), "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _mangled_stream(
        self, mangler: _StreamMangler, scope: Scope, receive: Receive, send: Send
    ) -> Any:
        """The app's stream response with the stream faults applied to its lines."""

        async def mangled(message: Message) -> None:
            if message["type"] == "http.response.body" and not mangler.hang_up:
                more = message.get("more_body", False)
                body = mangler.feed(message.get("body", b""))
                if mangler.hang_up:
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    raise ConnectionAbortedError("venue fault: stream dropped")
                await send({"type": "http.response.body", "body": body, "more_body": more})
                return
            await send(message)

        try:
            return await self.app(scope, receive, mangled)
        except BaseException:
            if mangler.hang_up:  # the app saw the send fail (maybe inside an exception group)
                return "venue fault: stream dropped mid-line"
            raise
