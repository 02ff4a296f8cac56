"""The live trader against the paper venue on a stepped clock: the test moves market time a
minute at a time and waits until the trader has seen it, so every run of a scenario sees the
same seeded prices and makes the same decisions. The trader runs either in a thread of the
test process or, for the crash tests, as a process of its own (``live_child.py``)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml
from sqlalchemy import Engine
from venue_support import (
    ACCOUNT,
    EUR,
    START_NS,
    TOKEN,
    admin,
    make_broker,
    running_venue,
)

from tradewind.broker.oanda import OandaBroker
from tradewind.pipelines.live import Built, build_trader, load_live_config
from tradewind.venue import service

HERE = Path(__file__).parent
CHILD = HERE / "live_child.py"
MINUTE_S = 60.0


def live_config(
    tmp: Path,
    *,
    execution: dict[str, Any] | None = None,
    risk: dict[str, Any] | None = None,
    decision: str = "momentum",
    **top: Any,
) -> Path:
    """A one-deployment config: ``decision`` (a function of ``live_decisions.py``; momentum
    by default) on EUR_USD M1 bars, 1,000 units at target 1; ``top`` overrides top-level
    fields (``max_outage_s``, ...)."""
    body = {
        "kind": "live",
        "name": "test-live",
        "broker": {"environment": "venue", "account_id": ACCOUNT},
        "deployments": [
            {
                "name": "momentum-eur",
                "strategy": {
                    "decision": str(HERE / "live_decisions.py") + f":{decision}",
                    "features": ["log_return_1"],
                    "max_units": 1000,
                },
                "instruments": [EUR],
                "timeframe": "M1",
                "features": str(HERE.parent / "data" / "live" / "features.yaml"),
                "history_bars": 0,
                "risk": {
                    "max_order_units": 5000,
                    "max_position_units": 5000,
                    "max_total_notional": 20000,
                    "stale_after_s": 300,
                    "max_drawdown": 0.5,
                    "max_reject_streak": 3,
                    "max_error_streak": 3,
                    **(risk or {}),
                },
                "execution": execution or {"algo": "market", "bound_bps": 20},
            }
        ],
        "health": {"port": 0},
        "reconcile_every_s": 1.0,
        "snapshot_every_s": 0.3,
        "order_grace_s": 2.0,  # an order not found is closed as never placed after 2 s
        **top,
    }
    path = tmp / "live.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


@dataclass
class Market:
    """A stepped-clock venue and what the test reads from it."""

    venue: service.Venue
    broker: OandaBroker

    @property
    def url(self) -> str:
        return self.venue.base_url  # type: ignore[attr-defined]

    def now_us(self) -> int:
        return self.venue.clock.now_ns() // 1000

    def advance(self, seconds: float) -> None:
        self.venue.clock.advance(seconds)

    def position(self, instrument: str = EUR) -> float:
        for p in self.broker.v20_list_positions(open_only=False):
            if p["instrument"] == instrument:
                return float(p["long"]["units"]) + float(p["short"]["units"])
        return 0.0

    def fired(self) -> dict[str, int]:
        """How often each armed fault kind has fired."""
        out: dict[str, int] = {}
        for rule in requests.get(
            f"{self.url}/admin/faults", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        ).json()["faults"]:
            out[rule["kind"]] = out.get(rule["kind"], 0) + int(rule.get("fired", 0))
        return out

    def fills(self) -> list[dict[str, Any]]:
        """Every ORDER_FILL transaction on the account."""
        return [
            t
            for t in self.broker.v20_transactions_since("0").transactions
            if t["type"] == "ORDER_FILL"
        ]

    def order_creates(self) -> list[dict[str, Any]]:
        """Every order-creating transaction on the account (to count duplicates)."""
        txs = self.broker.v20_transactions_since("0").transactions
        return [t for t in txs if t["type"] in ("MARKET_ORDER", "LIMIT_ORDER", "STOP_ORDER")]


@contextmanager
def market(seed: int = 5) -> Iterator[Market]:
    with running_venue(clock="stepped", seed=seed) as v:
        b = make_broker(v.base_url, name=f"tw-live-test-{seed}")  # type: ignore[attr-defined]
        try:
            yield Market(v, b)
        finally:
            b.close()


VENUE_CHILD = HERE / "venue_child.py"


class VenueProcess:
    """The venue as a process of its own on a fixed port and its own database, so it can be
    killed with -9 and started again where it stood (``Market``'s interface, remote)."""

    def __init__(self, db_url: str, seed: int = 5) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.db_url = db_url
        self.seed = seed
        self.url = f"http://127.0.0.1:{self.port}"
        self._now_ns = START_NS
        self.proc: subprocess.Popen[str] | None = None
        self.start()
        self.broker = make_broker(self.url, name=f"tw-venue-proc-{self.port}")

    def start(self) -> None:
        env = {
            **os.environ,
            "TRADEWIND_VENUE_TOKEN": TOKEN,
            "TRADEWIND_CHILD_DATABASE_URL": self.db_url,
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [sys.executable, str(VENUE_CHILD), str(self.port), str(self._now_ns)]
        self.proc = subprocess.Popen(
            [*cmd, "--seed", str(self.seed)], stdout=subprocess.PIPE, text=True, env=env
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("READY"), f"the venue did not start: {line!r}"

    def kill(self) -> None:
        """SIGKILL: no goodbye to its clients."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        self.broker.close()

    def now_us(self) -> int:
        return self._now_ns // 1000

    def advance(self, seconds: float) -> None:
        r = requests.post(
            f"{self.url}/admin/clock",
            json={"advance": seconds},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        r.raise_for_status()
        self._now_ns += round(seconds * 1e9)

    position = Market.position
    fills = Market.fills
    order_creates = Market.order_creates


@contextmanager
def venue_process(db_url: str, seed: int = 5) -> Iterator[VenueProcess]:
    v = VenueProcess(db_url, seed)
    try:
        yield v
    finally:
        v.close()


@dataclass
class InProcess:
    """The trader in a thread of the test process."""

    built: Built
    thread: threading.Thread
    snapshots: list[dict[str, Any]] = field(default_factory=list)

    @property
    def desk(self) -> Any:
        return self.built.desk

    def seen_us(self) -> int:
        """The latest tick the desk has fully handled (bar, decision, orders)."""
        return int(self.desk.processed_us)

    def idle(self) -> bool:
        return (
            all(lane.algo is None for lane in self.desk.lanes) and not self.built.oms.open_orders()
        )

    def stop(self) -> None:
        self.built.trader.stop()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "the trader did not stop"


@contextmanager
def trader_in_thread(
    engine: Engine,
    config: Path,
    m: Market,
    faults: list[dict[str, Any]] | None = None,
    broker_options: dict[str, Any] | None = None,
    **kw: Any,
) -> Iterator[InProcess]:
    """``faults`` are armed before the trader starts (stream faults take hold when a stream
    opens); ``broker_options`` change the adapter's (``fast_options``)."""
    if faults:
        admin(m.url, {"faults": faults})
    cfg = load_live_config(config)
    broker = make_broker(m.url, name="tw-live-trader", **(broker_options or {}))
    built = build_trader(engine, cfg, broker, clock_speed=0.0, **kw)
    ready = threading.Event()
    t = threading.Thread(
        target=lambda: built.trader.run(on_ready=lambda _t: ready.set()), daemon=True
    )
    t.start()
    assert ready.wait(30), "the trader did not start"
    handle = InProcess(built, t)
    try:
        yield handle
    finally:
        if t.is_alive():
            handle.stop()
        broker.close()


def step(m: Market, seen: Any, idle: Any, minutes: int = 1, timeout: float = 20.0) -> None:
    """Advance market time a minute at a time; after each, wait until the trader has seen a
    tick of that minute and has no order working."""
    for _ in range(minutes):
        m.advance(MINUTE_S)
        # the tick at the minute's end: it closes the bar, so the decision and its orders are
        # done once it has been handled (the walk ticks every 5 s from a whole minute)
        target = m.now_us()
        deadline = time.monotonic() + timeout
        while not (seen() >= target and idle()):
            assert time.monotonic() < deadline, "the trader did not catch up with the market"
            time.sleep(0.02)


@dataclass
class Child:
    """The trader as a separate process (``live_child.py``)."""

    proc: subprocess.Popen[str]
    health: str

    def report(self) -> dict[str, Any]:
        return requests.get(self.health, timeout=5).json()

    def seen_us(self) -> int:
        try:
            return int(self.report().get("last_tick_us") or 0)
        except requests.RequestException:
            return 0

    def idle(self) -> bool:
        try:
            return bool(self.report().get("idle"))
        except requests.RequestException:
            return False

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=30)


def start_child(config: Path, db_url: str, m: Market, *, crash_after_send: int = 0) -> Child:
    """The trader in a process of its own on ``db_url`` (SQLite or Postgres); the database
    URL reaches it through the environment, never its command line (it may hold a
    password)."""
    env = {
        **os.environ,
        "TRADEWIND_VENUE_TOKEN": TOKEN,
        "TRADEWIND_CHILD_DATABASE_URL": db_url,
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [sys.executable, str(CHILD), str(config), m.url]
    if crash_after_send:
        cmd += ["--crash-after-send", str(crash_after_send)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("READY "):
            return Child(proc, line.split()[1])
        if not line and proc.poll() is not None:
            raise AssertionError(f"the trader process exited with {proc.returncode}")
    proc.kill()
    raise AssertionError("the trader process did not become ready")
