"""The venue as a service: build it from settings, serve it (uvicorn, possibly in a thread
for the in-process paper venue and tests), and point oandapyV20 at it."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tradewind.venue.clock import Clock, ClockMode
from tradewind.venue.costs import InstrumentCosts
from tradewind.venue.faults import Faults
from tradewind.venue.instruments import (
    VenueInstrument,
    default_instruments,
    from_catalog,
    with_costs,
)
from tradewind.venue.prices import NS, PriceSource, load_stored_bars

if TYPE_CHECKING:
    from tradewind.venue.http_limits import HttpLimits

log = logging.getLogger("tradewind.venue")


class Venue:
    """The parts of a running venue: clock, prices, engine, faults and the access token."""

    def __init__(
        self,
        *,
        clock: Clock,
        prices: PriceSource,
        engine: Any,
        faults: Faults | None = None,
        token: str,
        heartbeat_s: float = 5.0,
    ) -> None:
        self.clock, self.prices, self.engine, self.token = clock, prices, engine, token
        self.faults = faults if faults is not None else Faults()
        self.heartbeat_s = heartbeat_s
        self.faults.on_change.append(self._sync_halts)
        self._sync_halts(self.faults)
        self._pumped = clock.now_ns()
        self._pump_lock = threading.Lock()
        self._pump_stop = threading.Event()
        self._pump_thread: threading.Thread | None = None

    def pump_quotes(self, max_span_s: float = 3600.0) -> int:
        """Hand the engine every tick since the last pump, in time order (pending LIMIT,
        STOP and dependent orders trigger on them); at most ``max_span_s`` simulated seconds
        (a clock that jumped further skips to its now). Returns the number of quotes."""
        on_quote = getattr(self.engine, "on_quote", None)
        settle = getattr(self.engine, "settle_financing", None)  # the rollovers passed
        if on_quote is None:
            return 0
        with self._pump_lock:
            now = self.clock.now_ns()
            if now <= self._pumped:
                return 0
            t0 = max(self._pumped, now - int(max_span_s * NS))
            quotes = self.prices.quotes_between(t0, now)
            for q in quotes:
                if settle is not None:
                    settle(q.time_ns)
                on_quote(q)
            if settle is not None:
                settle(now)
            self._pumped = now
            return len(quotes)

    def start_pump(self, interval_s: float = 0.05) -> None:
        """Pump quotes into the engine from a daemon thread until ``stop_pump``."""
        if self._pump_thread is not None:
            return
        self._pump_stop.clear()

        def run() -> None:
            while not self._pump_stop.wait(interval_s):
                try:
                    self.pump_quotes()
                except Exception:
                    log.exception("venue: quote pump failed")

        self._pump_thread = threading.Thread(target=run, name="venue-quotes", daemon=True)
        self._pump_thread.start()

    def stop_pump(self) -> None:
        self._pump_stop.set()
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=5)
            self._pump_thread = None

    def _sync_halts(self, faults: Faults) -> None:
        self.prices.halted = faults.halted()

    def account_exists(self, account_id: str) -> bool:
        check = getattr(self.engine, "account_exists", None)
        if check is not None:
            return bool(check(account_id))
        accounts = getattr(self.engine, "accounts", None)
        return accounts is None or account_id in accounts

    @classmethod
    def build(
        cls,
        *,
        token: str,
        database_url: str | None = None,
        clock: ClockMode = "real",
        speed: float = 1.0,
        start_ns: int | None = None,
        seed: int = 0,
        faults: Faults | None = None,
        heartbeat_s: float = 5.0,
        instruments: Mapping[str, VenueInstrument] | None = None,
        walk_step_s: int = 5,
        persist: bool = True,
        guaranteed_stop_loss_mode: str = "DISABLED",
        costs: Mapping[str, InstrumentCosts] | None = None,
    ) -> Venue:
        """Instruments and bars from the database when it has them (else the default FX set
        and a random walk); the engine's transactions in the same database, migrated to head
        first (in memory without a database).
        A fast or stepped clock with no ``start_ns`` starts at the first stored bar if there
        are bars, else now. ``persist=False`` reads instruments and bars from the database but
        keeps the transactions in memory (a throwaway session, like the demo's).
        ``guaranteed_stop_loss_mode`` is every account's guaranteedStopLossOrderMode
        (DISABLED, ALLOWED or REQUIRED). ``costs``: the financing rates and commission of
        instruments by name (venue/costs.py; else none)."""
        from tradewind.storage import migrate
        from tradewind.storage.engine import make_engine
        from tradewind.venue.engine import VenueEngine
        from tradewind.venue.engine.guaranteed import Guarantees
        from tradewind.venue.persistence import SqlTransactionStore

        db = make_engine(database_url) if database_url else None
        if db is not None:
            migrate.upgrade(db)  # the venue's tables (a no-op when already at head)
        bars: dict[str, Any] = {}
        ins = dict(instruments) if instruments is not None else {}
        if db is not None:
            with db.connect() as conn:
                if not ins:
                    ins = from_catalog(conn)
                ins = ins or default_instruments()
                bars = load_stored_bars(conn, ins)
        ins = with_costs(ins or default_instruments(), dict(costs or {}))
        if start_ns is None and clock != "real" and bars:
            start_ns = min(int(b.ts[0]) for b in bars.values())
        the_clock = Clock(clock, start_ns=start_ns, speed=speed)
        prices = PriceSource(the_clock, ins, seed, bars=bars, walk_step_s=walk_step_s)
        store = SqlTransactionStore(db) if db is not None and persist else None
        engine = VenueEngine(
            ins,
            now=the_clock.now_ns,
            quote=prices.latest,
            store=store,
            guarantees=Guarantees(mode=guaranteed_stop_loss_mode),
            quote_at=prices.latest,
        )
        return cls(
            clock=the_clock,
            prices=prices,
            engine=engine,
            faults=faults,
            token=token,
            heartbeat_s=heartbeat_s,
        )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def make_server(
    venue: Venue,
    host: str = "127.0.0.1",
    port: int = 8081,
    *,
    trading: bool = True,
    limits: HttpLimits | None = None,
    **kw: Any,
) -> Any:
    """uvicorn serving the venue, holding requests to ``limits`` (body size, head size, how
    long a request may take to arrive, idle keep-alive: ``http_limits``)."""
    import uvicorn

    from tradewind.venue.app import create_app
    from tradewind.venue.http_limits import HttpLimits, protocol_class

    limits = limits or HttpLimits()
    config = uvicorn.Config(
        create_app(venue, trading=trading, limits=limits),
        host=host,
        port=port,
        http=protocol_class(limits),
        timeout_keep_alive=max(1, round(limits.keep_alive_s)),
        log_level=kw.pop("log_level", "warning"),
        access_log=kw.pop("access_log", False),
        lifespan="off",
        timeout_graceful_shutdown=1,
        **kw,
    )
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_thread(
    venue: Venue,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    trading: bool = True,
    limits: HttpLimits | None = None,
) -> Iterator[str]:
    """Run the venue with uvicorn in a daemon thread; yields its base URL
    (``http://host:port``) once it accepts connections, and stops it on exit."""
    port = port or _free_port(host)
    server = make_server(venue, host, port, trading=trading, limits=limits)
    thread = threading.Thread(target=server.run, name=f"venue-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the venue did not start on {host}:{port}")
        time.sleep(0.01)
    venue.start_pump()
    try:
        yield f"http://{host}:{port}"
    finally:
        venue.stop_pump()
        server.should_exit = True
        thread.join(timeout=5)


def register_environment(name: str, rest_url: str, stream_url: str | None = None) -> str:
    """Point oandapyV20 environment ``name`` at a venue (``API(environment=name)``)."""
    from oandapyV20 import oandapyV20 as v20

    v20.TRADING_ENVIRONMENTS[name] = {
        "api": rest_url.rstrip("/"),
        "stream": (stream_url or rest_url).rstrip("/"),
    }
    return name


def start_instant(text: str | None) -> int | None:
    """``--start`` as epoch nanoseconds; ValueError for a time outside the clock's bounds."""
    from tradewind.venue.clock import check_instant
    from tradewind.venue.wire import parse_time

    return check_instant(parse_time(text, "start")) if text else None


__all__ = [
    "NS",
    "Venue",
    "make_server",
    "register_environment",
    "serve_in_thread",
    "start_instant",
]
