"""Shared by the OMS, execution and live-trader tests: the paper venue on loopback with the
real oandapyV20 client and fault arming (databases come from the `db_engine` and `new_db_url`
fixtures in tests/conftest.py, on both backends)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import requests

from tradewind.broker.environments import register_environment
from tradewind.broker.limits import Backoff
from tradewind.broker.oanda import OandaBroker, OandaOptions
from tradewind.venue import service
from tradewind.venue.http_limits import HttpLimits

TOKEN = "venue-token-" + uuid.uuid4().hex
ACCOUNT = "101-001-0000001-001"  # the venue's default account
EUR = "EUR_USD"
# a fast clock from a Tuesday noon, so the FX market is open whenever the tests run
START_NS = int(datetime(2024, 1, 2, 12, tzinfo=UTC).timestamp()) * service.NS


@contextmanager
def running_venue(
    *,
    speed: float = 50.0,
    seed: int = 11,
    database_url: str | None = None,
    clock: str = "fast",
    limits: HttpLimits | None = None,
    **kw: Any,
) -> Iterator[service.Venue]:
    """A venue under uvicorn in a thread; ``venue.base_url`` is its address. ``clock``
    "stepped" stands still until the test advances it (``venue.clock.advance``); ``limits``
    the HTTP server's (body and head sizes, read deadlines)."""
    v = service.Venue.build(
        token=TOKEN,
        seed=seed,
        heartbeat_s=0.5,
        clock=clock,  # type: ignore[arg-type]
        speed=speed,
        start_ns=START_NS,
        database_url=database_url,
        **kw,
    )
    with service.serve_in_thread(v, limits=limits) as base:
        v.base_url = base  # type: ignore[attr-defined]
        yield v


def fast_options(**kw: Any) -> OandaOptions:
    """Short timeouts and backoffs so fault tests finish in seconds."""
    base: dict[str, Any] = {
        "read_timeout": 1.0,
        "stream_stall": 1.5,
        "connections_per_second": 20.0,
        "connection_burst": 4,
        "read_backoff": Backoff(base=0.02, cap=0.2, attempts=5),
        "stream_backoff": Backoff(base=0.05, cap=0.3, attempts=1000),
        "resolve_backoff": Backoff(base=0.1, cap=1.0, attempts=6),
        "unknown_grace_s": 1.0,  # lookups after a 5xx or lost answer, then UNKNOWN
    }
    return OandaOptions(**{**base, **kw})


def make_broker(base_url: str, name: str = "tw-venue-live", **kw: Any) -> OandaBroker:
    register_environment(name, base_url)
    return OandaBroker(name, token=TOKEN, options=fast_options(**kw), account_id=ACCOUNT)


def admin(base_url: str, body: dict[str, Any], path: str = "faults") -> dict[str, Any]:
    """POST to the venue's admin API (``faults``: arm or clear fault rules)."""
    r = requests.post(
        f"{base_url}/admin/{path}",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    r.raise_for_status()
    return r.json() if r.content else {}
