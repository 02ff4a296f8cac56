"""The load client of ``bench.venue_load``: N keep-alive connections, each a closed loop of
v20 requests (the next one sent when the last answer arrived), for a fixed time.

The mix, drawn per request from a seeded generator of each connection (weights in ``MIX``):
pricing polls (``GET /pricing`` of two instruments), the account summary, a MARKET order
(``POST /orders``, EUR_USD, +/-1000 units, a unique client id: it fills at once) and the
transactions since the last id this connection saw (``GET /transactions/sinceid``).
Every request is timed from send to the last byte of its body; one that gets no answer within
``timeout`` seconds, or a status other than the one v20 documents, counts as failed.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

ACCOUNT = "101-001-0000001-001"
MIX = {"pricing": 40, "summary": 20, "order": 25, "sinceid": 15}
KINDS = list(MIX)


@dataclass
class RunStats:
    """One run's answers: latencies (seconds) per kind, failures, orders filled."""

    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    failures: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    fill_ids: list[int] = field(default_factory=list)

    @property
    def all(self) -> list[float]:
        return [x for v in self.latencies.values() for x in v]

    @property
    def answered(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


def percentile(xs: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; 0 for no samples."""
    if not xs:
        return 0.0
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]


def summary(xs: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(xs, 0.5),
        "p90": percentile(xs, 0.9),
        "p99": percentile(xs, 0.99),
        "max": max(xs) if xs else 0.0,
        "mean": statistics.fmean(xs) if xs else 0.0,
    }


class Conn:
    """One connection's loop."""

    def __init__(self, base: str, token: str, seed: int, stats: RunStats) -> None:
        self.base = f"{base}/v3/accounts/{ACCOUNT}"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.rng = random.Random(seed)
        self.stats = stats
        self.last_id = 0
        self.sign = 1

    def request(self, kind: str) -> tuple[str, str, dict[str, Any] | None, int]:
        if kind == "pricing":
            return "GET", f"{self.base}/pricing?instruments=EUR_USD,USD_JPY", None, 200
        if kind == "summary":
            return "GET", f"{self.base}/summary", None, 200
        if kind == "sinceid":
            return "GET", f"{self.base}/transactions/sinceid?id={self.last_id}", None, 200
        self.sign = -self.sign
        cid = "load-" + uuid.uuid4().hex[:20]
        order = {
            "type": "MARKET",
            "instrument": "EUR_USD",
            "units": str(1000 * self.sign),
            "clientExtensions": {"id": cid},
        }
        return "POST", f"{self.base}/orders", {"order": order}, 201

    async def run(self, session: aiohttp.ClientSession, until: float, timeout: float) -> None:
        weights = [MIX[k] for k in KINDS]
        while time.monotonic() < until:
            kind = self.rng.choices(KINDS, weights)[0]
            method, url, body, want = self.request(kind)
            t0 = time.perf_counter()
            try:
                async with session.request(
                    method,
                    url,
                    json=body,
                    headers=self.headers,
                    timeout=aiohttp.ClientTimeout(total=timeout),
                ) as r:
                    data = await r.json(content_type=None)
                    status = r.status
            except (TimeoutError, aiohttp.ClientError) as exc:
                self.stats.timeouts.append(f"{kind}: {type(exc).__name__}")
                continue
            took = time.perf_counter() - t0
            if status != want:
                self.stats.failures.append(f"{kind}: HTTP {status} {str(data)[:120]}")
                continue
            self.stats.latencies[kind].append(took)
            self.note(kind, data)

    def note(self, kind: str, data: dict[str, Any]) -> None:
        last = data.get("lastTransactionID") or data.get("account", {}).get("lastTransactionID")
        if kind == "order":
            fill = data.get("orderFillTransaction")
            self.stats.order_ids.append(str(data["orderCreateTransaction"]["id"]))
            if fill is not None:
                self.stats.fill_ids.append(int(fill["id"]))
        if last is not None and kind in ("sinceid", "summary"):
            self.last_id = int(last)


async def run_load(
    base: str, token: str, connections: int, seconds: float, timeout: float, seed: int
) -> RunStats:
    """``connections`` closed loops for ``seconds``; requests in flight at the end are waited
    for (up to ``timeout``) and counted. Rate = answers / time until the last one."""
    stats = RunStats()
    conn = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    async with aiohttp.ClientSession(connector=conn) as session:
        loops = [Conn(base, token, seed * 10_000 + i, stats) for i in range(connections)]
        async with session.get(f"{loops[0].base}/summary", headers=loops[0].headers) as r:
            last = int((await r.json())["account"]["lastTransactionID"])
        for c in loops:  # a poller starts from where the account stands
            c.last_id = last
        t0 = time.monotonic()
        until = t0 + seconds
        await asyncio.gather(*(c.run(session, until, timeout) for c in loops))
        stats.seconds = time.monotonic() - t0
    return stats
