"""Benchmark: the paper venue through the real oandapyV20 client on loopback (issue 5, item 6).

``python -m bench.venue_bench`` (``make bench``). The venue (``Venue.build`` +
``serve_in_thread``: uvicorn in a thread of this process, the client in the main thread; both
share the GIL and the machine's cores) on 127.0.0.1, an oandapyV20 environment registered to it.

* Order round trips/s: the real ``oandapyV20.API`` sends ``orders.OrderCreate`` MARKET orders
  (EUR_USD, alternating +1000 / -1000 units, each with a unique ``clientExtensions`` id)
  one after another on one keep-alive connection; rate = orders / elapsed. The venue's
  transactions go to a fresh SQLite file, a fresh Postgres database (a throwaway server, or
  ``TRADEWIND_BENCH_DATABASE_URL``) and, for reference, memory. Also ``OandaBroker.submit_order``
  (adds nothing on the wire: one POST per order) with its request limiter raised out of the way
  and, on SQLite, with its default limiter (60 requests/s, burst 20: capped by design), and two
  floors: a GET /v3/accounts round trip (HTTP + routing, no engine) and
  ``VenueEngine.create_order`` called in process (engine + persistence, no HTTP).
  Fast clock at 1x from Tuesday 2024-01-02 12:00 UTC (the FX market is open).
* Pricing stream prices/s to one client: ``pricing.PricingStream`` for the 10 default
  instruments (random walk, a tick every 5 simulated seconds each, so the venue offers
  2 x speed prices/s) on a fast clock from Monday 2024-01-08 00:00 UTC, PRICE lines counted
  (parsed by oandapyV20) for ``--stream-seconds`` a run; also a raw ``requests`` reader
  (``iter_lines`` in 64 kB chunks, PRICE lines counted, not parsed). At the aim's speed
  (20,000x: 40,000 prices/s offered) and at 100,000x (200,000/s offered: what the venue can
  push), the latter also with the venue's quote pump (the daemon that feeds every tick to
  the matching engine) stopped.
* Candle ingestion bars/s: ``ingest_oanda(engine, OandaBroker, "EUR_USD", M1, start, end,
  page=5000)`` of ``--days`` days from 2024-01-02 into an empty security master
  (``initialise``: migrated, fx_majors universe; created untimed for each run), SQLite and
  Postgres; bars/s = bars stored (mid + bid + ask) / elapsed. The venue (real clock, random
  walk) builds the candles. Breakdown: ``fetch_complete`` through the client (venue + HTTP +
  JSON) and through ``candles_body`` in process (the venue's candle building alone); storage
  is the rest.

Spread = (max - min) / median of the per-run rates. ``--write-results`` writes section
``venue`` of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from bench.common import check, command_line, log, machine_info, timed
from bench.databases import PostgresBackend, SqliteBackend
from bench.report import publish
from tradewind.broker.environments import register_environment
from tradewind.broker.oanda import OandaBroker, OandaOptions
from tradewind.broker.ports import OrderRequest
from tradewind.domain import Timeframe
from tradewind.pipelines.oanda_ingest import _us, fetch_complete, ingest_oanda
from tradewind.testing.postgres import drop_database, fresh_database
from tradewind.venue.candles import candles_body
from tradewind.venue.engine import DEFAULT_ACCOUNT
from tradewind.venue.service import NS, Venue, serve_in_thread

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data" / "venue"
TOKEN = "bench-" + uuid.uuid4().hex
INSTRUMENT = "EUR_USD"
ORDER_START = datetime(2024, 1, 2, 12, tzinfo=UTC)  # a Tuesday noon
STREAM_START = datetime(2024, 1, 8, tzinfo=UTC)  # a Monday: 3.5 open days ahead
INGEST_START = datetime(2024, 1, 2, tzinfo=UTC)
WALK_STEP_S = 5
SATURATE = 100_000.0
RAISED = 10_000.0  # requests/s: the adapter's limiter out of the way
GOAL_ORDERS = 500.0
GOAL_PRICES = 20_000.0

O_CLIENT = "oandapyV20 API: OrderCreate MARKET"
O_BROKER = f"OandaBroker.submit_order, limiter raised to {RAISED:,.0f}/s"
O_BROKER_DEFAULT = "OandaBroker.submit_order, default limiter (60/s, burst 20)"
O_GET = "floor: oandapyV20 GET /v3/accounts (HTTP, no engine)"
O_ENGINE = "floor: VenueEngine.create_order in process (no HTTP)"
ORDER_ORDER = [O_CLIENT, O_BROKER, O_BROKER_DEFAULT, O_GET, O_ENGINE]
BACKENDS = ["sqlite", "postgres", "memory"]

HEADER = (
    "# Benchmark results\n\nWritten by `python -m bench.run --write-results` (`make bench`). "
    "Sections between\n`bench:begin`/`bench:end` markers are regenerated; text outside them "
    "is kept.\n"
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.venue_bench", description=__doc__.splitlines()[0]
    )
    p.add_argument("--runs", type=int, default=None, help="runs of each measurement (5)")
    p.add_argument("--orders", type=int, default=None, help="orders per run (300)")
    p.add_argument("--stream-seconds", type=float, default=None, help="seconds per stream run (3)")
    p.add_argument("--speed", type=float, default=20_000.0, help="stream clock speed (20,000)")
    p.add_argument("--days", type=int, default=None, help="days of M1 candles to ingest (20)")
    p.add_argument("--skip-postgres", action="store_true", help="SQLite (and memory) only")
    p.add_argument(
        "--quick", action="store_true", help="smoke check: 2 runs, 50 orders, 1 s, 2 days"
    )
    p.add_argument(
        "--write-results", action="store_true", help="write the figures into bench/RESULTS.md"
    )
    args = p.parse_args(argv)
    defaults = (
        {"runs": 2, "orders": 50, "stream_seconds": 1.0, "days": 2}
        if args.quick
        else {"runs": 5, "orders": 300, "stream_seconds": 3.0, "days": 20}
    )
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.runs < 1 or args.orders < 10 or args.stream_seconds <= 0 or args.days < 1:
        p.error("--runs >= 1, --orders >= 10, --stream-seconds > 0, --days >= 1")
    return args


# --- measurements -----------------------------------------------------------------------------


@dataclass
class Sample:
    """Per-run counts and times of one measurement; rates per run."""

    group: str
    backend: str
    name: str
    unit: str
    counts: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def rates(self) -> list[float]:
        return [c / s for c, s in zip(self.counts, self.seconds, strict=True)]

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def spread(self) -> float:
        r = self.rates
        return (max(r) - min(r)) / statistics.median(r)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.samples: dict[tuple[str, str, str], Sample] = {}
        self.notes: list[str] = []
        self.checks: list[tuple[str, str]] = []
        self.info: dict[str, str] = {}
        self.extra: dict[str, Any] = {}

    def record(
        self, group: str, backend: str, name: str, unit: str, count: int, seconds: float
    ) -> None:
        key = (group, backend, name)
        s = self.samples.setdefault(key, Sample(group, backend, name, unit))
        s.counts.append(count)
        s.seconds.append(seconds)

    def passed(self, what: str, outcome: str) -> None:
        self.checks.append((what, outcome))

    def get(self, group: str, backend: str, name: str) -> Sample | None:
        return self.samples.get((group, backend, name))

    def group(self, group: str) -> list[Sample]:
        return [s for s in self.samples.values() if s.group == group]


# --- databases for the venue ------------------------------------------------------------------


@contextlib.contextmanager
def venue_database(backend: str, pg: PostgresBackend | None) -> Iterator[str | None]:
    """A URL of a fresh, empty database for the venue's transactions (None: in memory)."""
    if backend == "memory":
        yield None
    elif backend == "sqlite":
        DATA.mkdir(parents=True, exist_ok=True)
        d = Path(tempfile.mkdtemp(prefix="venue-", dir=DATA))
        try:
            yield f"sqlite:///{d}/venue.db"
        finally:
            shutil.rmtree(d, ignore_errors=True)
    else:
        assert pg is not None
        url = fresh_database(pg.server_url)
        try:
            yield url
        finally:
            drop_database(url)


def dispose_venue(venue: Venue) -> None:
    store_engine = getattr(getattr(venue.engine, "store", None), "engine", None)
    if store_engine is not None:
        store_engine.dispose()


def ns(dt: datetime) -> int:
    return int(dt.timestamp()) * NS


# --- 1. order round trips ---------------------------------------------------------------------


def cid() -> str:
    return f"b-{uuid.uuid4().hex[:20]}"


def client_orders(api: Any, n: int, ids: list[str]) -> int:
    """``n`` MARKET orders through oandapyV20, alternating +1000/-1000; returns fills."""
    from oandapyV20.endpoints import orders

    fills = 0
    for i in range(n):
        c = cid()
        ids.append(c)
        body = {
            "order": {
                "type": "MARKET",
                "instrument": INSTRUMENT,
                "units": "1000" if i % 2 == 0 else "-1000",
                "timeInForce": "FOK",
                "positionFill": "DEFAULT",
                "clientExtensions": {"id": c},
            }
        }
        r = orders.OrderCreate(DEFAULT_ACCOUNT, data=body)
        resp = api.request(r)
        fills += "orderFillTransaction" in resp and r.status_code == 201
    return fills


def broker_orders(broker: OandaBroker, n: int, ids: list[str]) -> int:
    fills = 0
    for i in range(n):
        c = cid()
        ids.append(c)
        res = broker.submit_order(
            OrderRequest(INSTRUMENT, 1000 if i % 2 == 0 else -1000, client_id=c)
        )
        fills += res.state == "FILLED"
    return fills


def engine_orders(venue: Venue, n: int, ids: list[str]) -> int:
    fills = 0
    create = venue.engine.create_order
    for i in range(n):
        c = cid()
        ids.append(c)
        spec = {
            "type": "MARKET",
            "instrument": INSTRUMENT,
            "units": "1000" if i % 2 == 0 else "-1000",
            "timeInForce": "FOK",
            "positionFill": "DEFAULT",
            "clientExtensions": {"id": c},
        }
        fills += "orderFillTransaction" in create(DEFAULT_ACCOUNT, spec)
    return fills


def get_accounts(api: Any, n: int) -> int:
    from oandapyV20.endpoints import accounts

    ok = 0
    for _ in range(n):
        resp = api.request(accounts.AccountList())
        ok += any(a["id"] == DEFAULT_ACCOUNT for a in resp["accounts"])
    return ok


def bench_orders(bench: Bench, backend: str, pg: PostgresBackend | None) -> None:
    from oandapyV20 import API

    a = bench.args
    n = a.orders
    with venue_database(backend, pg) as url:
        venue = Venue.build(
            token=TOKEN,
            database_url=url,
            clock="fast",
            speed=1.0,
            start_ns=ns(ORDER_START),
            seed=7,
        )
        try:
            with serve_in_thread(venue) as base:
                env = f"tw-bench-venue-{backend}"
                register_environment(env, base)
                api = API(access_token=TOKEN, environment=env)
                raised = OandaOptions(requests_per_second=RAISED, request_burst=int(RAISED))
                broker = OandaBroker(env, token=TOKEN, account_id=DEFAULT_ACCOUNT, options=raised)
                default = OandaBroker(env, token=TOKEN, account_id=DEFAULT_ACCOUNT)
                ids: list[str] = []
                cases: list[tuple[str, Callable[[], int], int]] = [
                    (O_CLIENT, lambda: client_orders(api, n, ids), n),
                    (O_BROKER, lambda: broker_orders(broker, n, ids), n),
                    (O_GET, lambda: get_accounts(api, n), n),
                    (O_ENGINE, lambda: engine_orders(venue, n, ids), n),
                ]
                if backend == "sqlite":
                    cases.append((O_BROKER_DEFAULT, lambda: broker_orders(default, n, ids), n))
                # warm-up, untimed: connections, first-use caches, the broker's summary read
                client_orders(api, 4, ids)
                broker_orders(broker, 4, ids)
                broker_orders(default, 4, ids)
                get_accounts(api, 4)
                engine_orders(venue, 4, ids)
                for r in range(a.runs):
                    log(f" orders ({backend}) run {r + 1}/{a.runs}")
                    for name, run, count in cases:
                        if name == O_BROKER_DEFAULT and r >= min(a.runs, 3):
                            continue
                        # the default limiter's bucket refills between runs, as it would
                        dt, ok = timed(run)
                        check(ok == count, f"{backend} {name}: {ok} of {count} succeeded")
                        bench.record("orders", backend, name, "orders/s", count, dt)
                # every order once: the venue knows each client id, and no duplicates
                last = venue.engine.get_order(DEFAULT_ACCOUNT, f"@{ids[-1]}")["order"]
                check(last["clientExtensions"]["id"] == ids[-1], "last order by client id")
                check(len(set(ids)) == len(ids), "client ids unique")
                txs = int(venue.engine.last_transaction_id(DEFAULT_ACCOUNT))
                bench.extra.setdefault("orders_txs", {})[backend] = (len(ids), txs)
                broker.close()
                default.close()
                api.client.close()
        finally:
            dispose_venue(venue)
    if backend == "sqlite":
        bench.passed(
            "orders: every order filled (201 + orderFillTransaction), the last found by @clientID",
            f"{len(ids):,} orders on SQLite, transaction ids up to {txs:,}",
        )


# --- 2. pricing stream ------------------------------------------------------------------------


def stream_client(base_env: str, seconds: float) -> tuple[int, float]:
    """PRICE messages parsed by oandapyV20 in ``seconds``; returns (count, elapsed)."""
    from oandapyV20 import API
    from oandapyV20.endpoints import pricing
    from oandapyV20.exceptions import StreamTerminated

    from tradewind.venue.instruments import DEFAULT_SYMBOLS

    api = API(access_token=TOKEN, environment=base_env)
    r = pricing.PricingStream(
        DEFAULT_ACCOUNT, params={"instruments": ",".join(DEFAULT_SYMBOLS), "snapshot": "false"}
    )
    count = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    try:
        for msg in api.request(r):
            if msg.get("type") == "PRICE":
                count += 1
                if count % 256 == 0 and time.perf_counter() >= end:
                    break
            elif time.perf_counter() >= end:
                break
        elapsed = time.perf_counter() - t0
    finally:
        with contextlib.suppress(StreamTerminated):
            r.terminate()  # throws StreamTerminated into the client's generator
        api.client.close()
    return count, elapsed


def stream_raw(base_url: str, seconds: float) -> tuple[int, float]:
    """PRICE lines read with ``requests`` (``iter_lines``, 64 kB chunks), not parsed."""
    from tradewind.venue.instruments import DEFAULT_SYMBOLS

    url = f"{base_url}/v3/accounts/{DEFAULT_ACCOUNT}/pricing/stream"
    params = {"instruments": ",".join(DEFAULT_SYMBOLS), "snapshot": "false"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    count = 0
    with requests.get(url, params=params, headers=headers, stream=True, timeout=10) as resp:
        check(resp.status_code == 200, f"stream: HTTP {resp.status_code}")
        t0 = time.perf_counter()
        end = t0 + seconds
        for line in resp.iter_lines(chunk_size=65536):
            if b'"PRICE"' in line:
                count += 1
                if count % 256 == 0 and time.perf_counter() >= end:
                    break
            elif time.perf_counter() >= end:
                break
        elapsed = time.perf_counter() - t0
    return count, elapsed


def stream_name(reader: str, speed: float, pump: bool = True) -> str:
    offered = 10 * speed / WALK_STEP_S
    extra = "" if pump else ", quote pump stopped"
    return f"{reader}, clock {speed:,.0f}x ({offered:,.0f}/s offered){extra}"


def bench_stream(bench: Bench) -> None:
    a = bench.args
    start = ns(STREAM_START)
    speeds = [a.speed, SATURATE] if a.speed != SATURATE else [a.speed]
    # one venue per speed (the clock's speed is fixed at build); the clock is put back to the
    # Monday before each run, so every run streams the same open-market span
    for speed in speeds:
        venue = Venue.build(
            token=TOKEN,
            clock="fast",
            speed=speed,
            start_ns=start,
            seed=7,
            heartbeat_s=1.0,
            walk_step_s=WALK_STEP_S,
        )
        check(
            all(venue.prices.source_of(n) == "random-walk" for n in venue.prices.instruments)
            and len(venue.prices.instruments) == 10,
            "stream: 10 random-walk instruments",
        )
        with serve_in_thread(venue, trading=False) as base:
            env = f"tw-bench-stream-{speed:.0f}"
            register_environment(env, base)
            cases: list[tuple[str, Callable[[], tuple[int, float]], bool]] = [
                (
                    stream_name("oandapyV20 PricingStream", speed),
                    lambda env=env: stream_client(env, a.stream_seconds),
                    True,
                ),
                (
                    stream_name("raw requests iter_lines", speed),
                    lambda base=base: stream_raw(base, a.stream_seconds),
                    True,
                ),
            ]
            if speed == SATURATE:
                cases += [
                    (
                        stream_name("oandapyV20 PricingStream", speed, False),
                        lambda env=env: stream_client(env, a.stream_seconds),
                        False,
                    ),
                    (
                        stream_name("raw requests iter_lines", speed, False),
                        lambda base=base: stream_raw(base, a.stream_seconds),
                        False,
                    ),
                ]
            venue.clock.set(start)
            stream_client(env, 0.3)  # warm-up
            for r in range(a.runs):
                log(f" stream {speed:,.0f}x run {r + 1}/{a.runs}")
                for name, run, pump in cases:
                    if pump:
                        venue.start_pump()
                    else:
                        venue.stop_pump()
                    venue.clock.set(start)
                    venue._pumped = start  # the pump resumes from the new start
                    count, dt = run()
                    offered = 10 * speed / WALK_STEP_S * dt
                    check(count > 0, f"{name}: no prices")
                    check(count <= offered * 1.05 + 50, f"{name}: {count} > offered {offered:.0f}")
                    bench.record("stream", "-", name, "prices/s", count, dt)
            venue.start_pump()
        bench.extra.setdefault("stream_offered", {})[speed] = 10 * speed / WALK_STEP_S
    bench.passed(
        "stream: prices received never exceed the prices offered in the run (2 x speed / s)",
        "held in every run",
    )


# --- 3. candle ingestion ----------------------------------------------------------------------


class InProcessCandles:
    """The venue's candle building without HTTP: ``candles_body`` called directly."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue

    def candles(
        self,
        instrument: str,
        granularity: str,
        *,
        price: str = "MBA",
        start: str | None = None,
        end: str | None = None,
        count: int | None = None,
        include_first: bool | None = None,
    ) -> list[dict[str, Any]]:
        params = {"granularity": granularity, "price": price}
        if start is not None:
            params["from"] = start
        if end is not None:
            params["to"] = end
        if count is not None:
            params["count"] = str(count)
        if include_first is not None:
            params["includeFirst"] = "true" if include_first else "false"
        now = self.venue.clock.now_ns()
        return list(candles_body(self.venue.prices, instrument, params, now)["candles"])


def bench_ingest(bench: Bench, backends: list[Any]) -> None:
    a = bench.args
    start, end = INGEST_START, INGEST_START + timedelta(days=a.days)
    s_us, e_us = _us(start), _us(end)
    venue = Venue.build(token=TOKEN, seed=7)  # real clock: 2024's candles are all complete
    with serve_in_thread(venue, trading=False) as base:
        env = "tw-bench-ingest"
        register_environment(env, base)
        broker = OandaBroker(env, token=TOKEN)
        local = InProcessCandles(venue)
        candles, calls = fetch_complete(broker, INSTRUMENT, Timeframe.M1, s_us, e_us)
        per_side = len(candles)
        check(per_side > 0, "ingest: the venue returned no candles")
        bench.extra["ingest"] = (per_side, calls)
        name_http = "fetch_complete through oandapyV20 (venue + HTTP + JSON)"
        name_local = "fetch_complete on candles_body in process (venue candle building)"
        for r in range(a.runs):
            log(f" ingest run {r + 1}/{a.runs}")
            dt, (got, _) = timed(
                lambda: fetch_complete(broker, INSTRUMENT, Timeframe.M1, s_us, e_us)
            )
            check(len(got) == per_side, f"fetch: {len(got)} candles, expected {per_side}")
            bench.record("ingest", "-", name_http, "candles/s", per_side, dt)
            dt, (got, _) = timed(
                lambda: fetch_complete(local, INSTRUMENT, Timeframe.M1, s_us, e_us)
            )
            check(len(got) == per_side, f"in process: {len(got)} candles")
            bench.record("ingest", "-", name_local, "candles/s", per_side, dt)
            for be in backends:
                with be.database() as eng:
                    dt, reports = timed(
                        lambda eng=eng: ingest_oanda(
                            eng,
                            broker,
                            INSTRUMENT,
                            Timeframe.M1,
                            start,
                            end,
                            environment=env,
                            page=5000,
                        )
                    )
                    stored = sum(rep.inserted for rep in reports)
                    check(
                        [rep.inserted for rep in reports] == [per_side] * 3
                        and all(rep.quarantined == 0 for rep in reports),
                        f"{be.name}: inserted {[rep.inserted for rep in reports]}",
                    )
                    again = ingest_oanda(
                        eng, broker, INSTRUMENT, Timeframe.M1, start, end, environment=env
                    )
                    check(all(rep.inserted == 0 for rep in again), f"{be.name}: re-run inserted")
                bench.record(
                    "ingest", be.name, "ingest_oanda M1 mid+bid+ask, end to end", "bars/s",
                    stored, dt,
                )  # fmt: skip
        broker.close()
    bench.passed(
        "ingest: every side stores every candle fetched, none quarantined; a re-run inserts "
        "nothing",
        f"{per_side:,} candles x 3 sides a run, {calls} requests of at most 5000",
    )


# --- report -----------------------------------------------------------------------------------


def fmt(x: float) -> str:
    return f"{x:,.0f}"


def yes(ok: bool) -> str:
    return "met" if ok else "**not met**"


def sample_rows(samples: list[Sample], unit: str, with_backend: bool = True) -> list[str]:
    head = "| backend | measurement" if with_backend else "| measurement"
    rows = [
        f"{head} | per run | runs | median s | {unit} (median) | {unit} (min - max) | spread |",
        "|---" * (7 + with_backend) + "|",
    ]
    rows[1] = "|---|" + ("---|" if with_backend else "") + "---:|---:|---:|---:|---:|---:|"
    for s in samples:
        lead = f"| {s.backend} | {s.name}" if with_backend else f"| {s.name}"
        per = fmt(statistics.median(s.counts))
        rows.append(
            f"{lead} | {per} | {len(s.seconds)} | {s.median_s:.3f} | {fmt(s.rate)} | "
            f"{fmt(min(s.rates))} - {fmt(max(s.rates))} | {s.spread:.0%} |"
        )
    return rows


def order_key(s: Sample) -> tuple[int, int]:
    return BACKENDS.index(s.backend), ORDER_ORDER.index(s.name)


def goal_lines(bench: Bench) -> list[str]:
    rows = ["| goal | measured | aim | met |", "|---|---:|---:|---|"]
    for be in BACKENDS:
        s = bench.get("orders", be, O_CLIENT)
        if s is not None:
            label = "venue in memory, reference" if be == "memory" else f"venue on {be}"
            rows.append(
                f"| order round trips/s, oandapyV20 on loopback ({label}) | {fmt(s.rate)}/s | "
                f"{fmt(GOAL_ORDERS)}/s | {yes(s.rate >= GOAL_ORDERS)} |"
            )
    s = bench.get("orders", "sqlite", O_BROKER)
    if s is not None:
        rows.append(
            f"| order round trips/s, OandaBroker.submit_order (limiter raised; SQLite) | "
            f"{fmt(s.rate)}/s | {fmt(GOAL_ORDERS)}/s | {yes(s.rate >= GOAL_ORDERS)} |"
        )
    for s in bench.group("stream"):
        if s.name.startswith("oandapyV20") and "stopped" not in s.name:
            rows.append(
                f"| pricing-stream prices/s to one client: {s.name} | {fmt(s.rate)}/s | "
                f"{fmt(GOAL_PRICES)}/s | {yes(s.rate >= GOAL_PRICES)} |"
            )
    for s in bench.group("ingest"):
        if s.backend != "-":
            rows.append(f"| candle ingestion ({s.backend}) | {fmt(s.rate)} bars/s | none | - |")
    return rows


def analysis(bench: Bench) -> list[str]:
    out: list[str] = []
    g = bench.get
    parts = []
    for be in BACKENDS:
        c, e = g("orders", be, O_CLIENT), g("orders", be, O_ENGINE)
        if c and e:
            ms, eng = 1e3 / c.rate, 1e3 / e.rate
            parts.append(
                f"{be} {ms:.2f} ms = engine + persistence {eng:.2f} ms + HTTP, routing, JSON "
                f"and client {ms - eng:.2f} ms"
            )
    h = g("orders", "memory", O_GET) or g("orders", "sqlite", O_GET)
    if parts and h:
        out.append(
            "- Orders, a round trip at the medians: "
            + "; ".join(parts)
            + f". A bare GET /v3/accounts (no engine) already takes {1e3 / h.rate:.2f} ms: "
            "the HTTP stack (requests, uvicorn with httptools and uvloop, the venue's "
            "middleware) dominates; "
            "the database adds the difference between the engine rows."
        )
    c, b = g("orders", "sqlite", O_CLIENT), g("orders", "sqlite", O_BROKER)
    d = g("orders", "sqlite", O_BROKER_DEFAULT)
    if c and b:
        noise = max(c.spread, b.spread)
        close = abs(b.rate - c.rate) / c.rate <= noise
        txt = (
            f"- `OandaBroker.submit_order` (one POST an order, like the bare client): "
            f"{fmt(b.rate)}/s against {fmt(c.rate)}/s on SQLite, "
            + ("within the runs' spread" if close else "outside the runs' spread")
        )
        if d is not None:
            txt += (
                f"; with its default limiter {fmt(d.rate)}/s: a 20-request burst, then "
                "60/s, capped by design below OANDA's 100/s"
            )
        out.append(txt + ".")
    speed, offered = bench.args.speed, 10 * bench.args.speed / WALK_STEP_S
    st = {s.name: s for s in bench.group("stream")}
    oc, raw = (
        st.get(stream_name(r, speed))
        for r in ("oandapyV20 PricingStream", "raw requests iter_lines")
    )
    so, sr, po, pr = (
        st.get(stream_name(r, SATURATE, pump))
        for pump in (True, False)
        for r in ("oandapyV20 PricingStream", "raw requests iter_lines")
    )
    if oc and raw:
        out.append(
            f"- Stream at {speed:,.0f}x ({fmt(offered)}/s offered): oandapyV20 receives "
            f"{fmt(oc.rate)}/s ({oc.rate / offered:.0%} of it; runs {fmt(min(oc.rates))} - "
            f"{fmt(max(oc.rates))}), a raw `requests` reader "
            f"{fmt(raw.rate)}/s ({raw.rate / offered:.0%}). oandapyV20 reads with "
            "`iter_lines(60)` (60-byte chunks) and one `json.loads` per line, in the "
            "benchmark's process, so the client, not the venue, limits it."
        )
    if so and sr and po and pr:
        out.append(
            f"- What the venue can push (100,000x, 200,000/s offered): {fmt(sr.rate)}/s to "
            f"the raw reader, {fmt(so.rate)}/s to oandapyV20; with the venue's quote pump "
            f"stopped {fmt(pr.rate)}/s ({pr.rate / sr.rate - 1:+.0%}) and {fmt(po.rate)}/s "
            f"({po.rate / so.rate - 1:+.0%}). The pump hands every tick of the 10 instruments "
            "to `VenueEngine.on_quote` (Python, under the engine's lock) and takes the GIL "
            "from the stream and from a client that parses every line; without it, venue "
            f"(numpy ticks formatted into JSON lines) and raw reader move about "
            f"{fmt(pr.rate)}/s together in one process."
        )
    ing = bench.extra.get("ingest")
    http = g("ingest", "-", "fetch_complete through oandapyV20 (venue + HTTP + JSON)")
    loc = g("ingest", "-", "fetch_complete on candles_body in process (venue candle building)")
    if ing and http and loc:
        parts = []
        for be in ("sqlite", "postgres"):
            s = g("ingest", be, "ingest_oanda M1 mid+bid+ask, end to end")
            if s is not None:
                total, store = s.median_s, s.median_s - http.median_s
                parts.append(
                    f"{be} {total:.2f} s = venue candle building {loc.median_s:.2f} s "
                    f"({loc.median_s / total:.0%}) + HTTP and JSON "
                    f"{http.median_s - loc.median_s:.2f} s + validation and storage "
                    f"{store:.2f} s ({store / total:.0%})"
                )
        out.append(
            f"- Ingestion, {ing[0]:,} candles x 3 sides a run, at the medians: "
            + "; ".join(parts)
            + ". The venue builds each M1 candle from its random-walk ticks and renders "
            "12 decimal strings a candle; the security master parses them back into floats."
        )
    return out


def render(bench: Bench, command: str, seconds: float) -> str:
    a = bench.args
    info = machine_info(["oandapyV20", "requests", "uvicorn", "starlette", "sqlalchemy", "psycopg"])
    lines = [
        "## Paper venue through oandapyV20 on loopback",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Command: `{command}` (whole run: {seconds:.0f} s)",
        *(f"- {k}: {v}" for k, v in info.items()),
        *(f"- {k}: {v}" for k, v in bench.info.items()),
        "- Setup: the venue (`Venue.build` + `serve_in_thread`: uvicorn in a thread of the "
        "benchmark's process) on 127.0.0.1, the client in the main thread; they share the "
        "GIL and the 2 cores.",
        f"- Orders: {a.orders} sequential MARKET orders a run (EUR_USD, alternating +1000 / "
        "-1000, unique clientExtensions ids), one keep-alive connection; fast clock at 1x from "
        "2024-01-02 12:00 UTC; the venue's transactions in a fresh SQLite file / a fresh "
        "Postgres database / memory; 4 untimed orders of each kind first. The default-limiter "
        "row: 3 runs at most.",
        f"- Stream: 10 default instruments (random walk, a tick each per 5 simulated s), "
        f"{a.stream_seconds:g} s a run from 2024-01-08 00:00 UTC (clock set back before each "
        "run), `snapshot=false`, heartbeats every 1 s.",
        f"- Ingestion: EUR_USD M1 from 2024-01-02 for {a.days} days (weekends closed), "
        "`page=5000`, price MBA, into a fresh security master each run (created untimed); a "
        "second, untimed run checks that nothing is inserted again.",
        f"- Runs: {a.runs} of each, interleaved; rates per run, spread = (max - min) / median.",
        *(f"- {n}" for n in bench.notes),
        "",
        "### Aims (issue 5)",
        "",
        *goal_lines(bench),
        "",
        "### Order round trips",
        "",
        *sample_rows(sorted(bench.group("orders"), key=order_key), "orders/s"),
        "",
        "### Pricing stream to one client",
        "",
        *sample_rows(bench.group("stream"), "prices/s", with_backend=False),
        "",
        "### Candle ingestion",
        "",
        "Rows with backend `-` fetch only (no database): where the time goes.",
        "",
        *sample_rows(bench.group("ingest"), "bars/s"),
        "",
        "### Analysis",
        "",
        *analysis(bench),
        "",
        "### Checks",
        "",
        "| check | outcome |",
        "|---|---|",
        *(f"| {w} | {o} |" for w, o in bench.checks),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    bench = Bench(args)
    if args.quick:
        bench.notes.append("`--quick`: a smoke check, too few runs for figures.")
    pg: PostgresBackend | None = None
    ingest_backends: list[Any] = [SqliteBackend(DATA / "master")]
    if not args.skip_postgres:
        try:
            pg = PostgresBackend()
        except Exception as exc:  # no server binaries and no URL: report SQLite only
            log(f"postgres unavailable ({exc}); SQLite only")
            bench.notes.append(f"Postgres skipped: {exc}")
        else:
            ingest_backends.insert(0, pg)
            bench.info.update(pg.describe())
    try:
        for be in ("sqlite", "postgres", "memory"):
            if be == "postgres" and pg is None:
                continue
            log(f"orders: venue on {be}")
            bench_orders(bench, be, pg)
        log("pricing stream")
        bench_stream(bench)
        log("candle ingestion")
        bench_ingest(bench, ingest_backends)
    finally:
        for be in ingest_backends:
            be.close()
    seconds = time.perf_counter() - began
    text = render(bench, command_line("bench.venue_bench", argv), seconds)
    publish("venue", text, HEADER, args.write_results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
