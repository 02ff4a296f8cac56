"""The live trader service: streams in, orders out, state in the database.

``Trader.run`` reconciles with the broker before anything else (and trades only while the
books are clean), then runs three threads around the ``Desk``: the price stream (ticks to
the desk), the transaction stream (each transaction applied once to the OMS; the broker's
stream backfills from ``sinceid`` after a drop), and this one, which every
``snapshot_every_s`` refreshes the account (NAV for the kill switch's loss and drawdown
limits), re-reads the kill switch (``tradewind live halt/resume`` from another process),
writes positions, P&L, latency and heartbeats for the dashboards, and every
``reconcile_every_s`` reconciles again. A failed reconciliation halts trading through the
kill switch. SIGTERM/SIGINT (or ``stop``) end it gracefully: working algorithms are cancelled
(their leftovers are not re-sent), a last snapshot is written, deployments marked stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from tradewind.broker.errors import BrokerError
from tradewind.broker.ports import Broker
from tradewind.live.desk import Desk
from tradewind.live.health import serve_health
from tradewind.live.lease import Lease, LeaseLost
from tradewind.live.ticks import tick_from_v20
from tradewind.oms.ledger import to_account_factor, unrealized_pl
from tradewind.oms.manager import OrderManager
from tradewind.risk import KillState, KillSwitch

log = logging.getLogger(__name__)


class LiveStore(Protocol):
    """Where the trader writes what dashboards read (``storage.live.SqlLiveStore``)."""

    def heartbeat(self, names: Sequence[str], detail: str = "") -> None: ...

    def stop(self, names: Sequence[str], status: str = "stopped", detail: str = "") -> None: ...

    def metrics(self, rows: Any) -> None: ...

    def pnl(self, rows: Any) -> None: ...


@dataclass(slots=True)
class TraderStatus:
    reconcile: str = "never"
    reconcile_clean: bool = False
    stream_errors: dict[str, str] = field(default_factory=dict)
    started_wall: float = field(default_factory=time.time)
    last_snapshot: dict[str, Any] = field(default_factory=dict)
    nav_start: float | None = None


class Trader:
    def __init__(
        self,
        *,
        broker: Broker,
        oms: OrderManager,
        desk: Desk,
        kill: KillSwitch,
        store: LiveStore,
        deployments: Sequence[str],
        instruments: Sequence[str],
        reconcile_every_s: float = 60.0,
        snapshot_every_s: float = 5.0,
        health: tuple[str, int] | None = ("127.0.0.1", 0),
        lease: Lease | None = None,
    ) -> None:
        self.broker = broker
        self.oms = oms
        self.desk = desk
        self.kill = kill
        self.store = store
        self.deployments = list(deployments)
        self.instruments = list(instruments)
        self.reconcile_every_s = reconcile_every_s
        self.snapshot_every_s = snapshot_every_s
        self.health = health
        self.health_url: str | None = None
        self.lease = lease  # the account's single-writer lease, renewed by the main loop
        self.lease_lost = ""
        self.stop_event = threading.Event()
        self.status = TraderStatus()
        self._threads: list[threading.Thread] = []
        self._latency_mark = 0

    # --- lifecycle -----------------------------------------------------------------------
    def run(
        self, duration_s: float | None = None, on_ready: Callable[[Trader], None] | None = None
    ):
        """Trade until ``stop()`` (or SIGTERM/SIGINT via the CLI) or ``duration_s`` of wall
        time. Returns the last snapshot."""
        self.reconcile()
        self.snapshot()
        self._start_thread("prices", self._prices)
        self._start_thread("transactions", self._transactions)
        deadline = time.monotonic() + duration_s if duration_s is not None else None
        with self._health() as url:
            self.health_url = url
            if on_ready is not None:
                on_ready(self)
            next_snapshot = time.monotonic() + self.snapshot_every_s
            next_reconcile = time.monotonic() + self.reconcile_every_s
            while not self.stop_event.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if not self._lease_ok():
                    break
                self.desk.flush_bars()
                self.desk.poll()
                if now >= next_snapshot:
                    self.snapshot()
                    next_snapshot = now + self.snapshot_every_s
                if now >= next_reconcile:
                    self.reconcile()
                    next_reconcile = now + self.reconcile_every_s
                self.stop_event.wait(0.2)
            self.shutdown()
        return self.status.last_snapshot

    def stop(self) -> None:
        self.stop_event.set()

    def shutdown(self) -> None:
        self.stop_event.set()
        self.desk.cancel_all("shutdown")
        for t in self._threads:
            t.join(timeout=5)
        if self.lease_lost:  # the account is another trader's now: write nothing more
            return
        try:
            self.snapshot()
        except BrokerError as exc:
            log.warning("last snapshot failed: %s", exc)
        self.store.stop(self.deployments, "stopped", "graceful shutdown")
        if self.lease is not None:
            self.lease.release()

    def _lease_ok(self) -> bool:
        """Renew the account's lease; on losing it, stop trading at once (False)."""
        if self.lease is None:
            return True
        try:
            self.lease.renew()
        except LeaseLost as exc:
            log.error("%s: stopping", exc)
            self.lease_lost = str(exc)
            self.desk.trading = False
            self.desk.halt_reason = str(exc)
            self.status.last_snapshot = {**self.status.last_snapshot, "stopped": str(exc)}
            return False
        return True

    def _health(self) -> Any:
        from contextlib import nullcontext

        if self.health is None:
            return nullcontext(None)
        return serve_health(self.health_report, *self.health)

    def _start_thread(self, name: str, target: Callable[[], None]) -> None:
        t = threading.Thread(target=self._guard(name, target), name=f"live-{name}", daemon=True)
        t.start()
        self._threads.append(t)

    def _guard(self, name: str, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except Exception as exc:  # a stream that gave up: stop trading, say why
                if self.stop_event.is_set():
                    return
                log.exception("%s stream failed", name)
                self.status.stream_errors[name] = f"{type(exc).__name__}: {exc}"
                self.desk.trading = False
                self.desk.halt_reason = f"{name} stream down: {exc}"

        return run

    # --- streams -------------------------------------------------------------------------
    def _prices(self) -> None:
        stream = self.broker.price_stream(self.instruments, heartbeats=True)  # type: ignore[call-arg]
        try:
            for msg in stream:
                if self.stop_event.is_set():
                    return
                if msg.get("type") == "HEARTBEAT":
                    continue
                tick = tick_from_v20(msg)
                if tick is not None:
                    self.desk.on_tick(tick)
        finally:
            stream.close()  # type: ignore[attr-defined]

    def _transactions(self) -> None:
        since = self.oms.last_transaction_id
        stream = self.broker.transaction_stream(  # type: ignore[call-arg]
            str(since) if since is not None else None, heartbeats=True
        )
        try:
            for tx in stream:
                if self.stop_event.is_set():
                    return
                if tx.get("type") == "HEARTBEAT":
                    continue
                self.oms.apply_transaction(tx)
                self.oms.advance(int(tx["id"]))
        finally:
            stream.close()  # type: ignore[attr-defined]

    # --- periodic ------------------------------------------------------------------------
    def reconcile(self) -> None:
        try:
            report = self.oms.reconcile()
        except BrokerError as exc:
            log.warning("reconcile: broker error %s; trading paused until it succeeds", exc)
            self.desk.trading = False
            self.desk.halt_reason = f"reconcile failed: {exc}"
            self.status.reconcile = f"error: {exc}"
            return
        self.status.reconcile = report.summary()
        self.status.reconcile_clean = report.clean
        if report.clean:
            if not self.status.stream_errors:
                self.desk.trading = True
                self.desk.halt_reason = ""
            return
        self.desk.trading = False
        self.desk.halt_reason = "reconciliation failed: " + "; ".join(report.differences)
        self.kill.on_reconcile_failed(report.summary(), self.desk.now_us())
        self.desk.cancel_all("reconciliation failed")

    def refresh_kill(self) -> None:
        """Pick up a halt or a reset made from another process (``tradewind live``)."""
        self.kill.refresh()
        if self.kill.state is KillState.HALTED:
            self.desk.cancel_all("kill switch halted")

    def snapshot(self) -> dict[str, Any]:
        """Account, kill switch, positions, P&L and latency to the database."""
        now = self.desk.now_us()
        summary = self.broker.account_summary()
        acct = summary.get("account", summary)
        nav = float(acct.get("NAV", 0.0))
        self.desk.account.currency = str(acct.get("currency", self.desk.account.currency))
        self.desk.account.nav = nav
        self.desk.account.margin_available = float(acct.get("marginAvailable", 0.0))
        if self.status.nav_start is None:
            self.status.nav_start = nav
        self.refresh_kill()
        self.kill.on_nav(nav, now)
        mids = {k: t.mid for k, t in self.desk.last.items()}
        rows = []
        realised = unrealised = 0.0
        for inst, pos in self.oms.positions().items():
            mid = mids.get(inst)
            factor = to_account_factor(inst, self.desk.account.currency, mids)
            upl = unrealized_pl(pos, mid, factor) if mid is not None and factor else 0.0
            realised += pos.realized_pl
            unrealised += upl
            rows.append(
                {
                    "at_us": now,
                    "account_id": self.oms.account_id,
                    "deployment": self._owner(inst),
                    "instrument": inst,
                    "units": pos.units,
                    "avg_price": pos.avg_price,
                    "mid": mid,
                    "realized_pl": pos.realized_pl,
                    "unrealized_pl": upl,
                    "nav": None,
                }
            )
        rows.append(
            {
                "at_us": now,
                "account_id": self.oms.account_id,
                "deployment": "",
                "instrument": "*",
                "units": 0.0,
                "avg_price": 0.0,
                "mid": None,
                "realized_pl": realised,
                "unrealized_pl": unrealised,
                "nav": nav,
            }
        )
        self.store.pnl(rows)
        self.store.metrics(self._metrics(now))
        self.store.heartbeat(self.deployments, self.desk.halt_reason)
        snap = {
            "nav": nav,
            "nav_start": self.status.nav_start,
            "realized_pl": realised,
            "unrealized_pl": unrealised,
            "positions": {r["instrument"]: r["units"] for r in rows if r["instrument"] != "*"},
            "kill_state": self.kill.state.value,
            "trading": self.desk.trading,
            "counts": dict(self.desk.counts),
        }
        self.status.last_snapshot = snap
        return snap

    def _owner(self, instrument: str) -> str:
        for lane in self.desk.lanes:
            if lane.instrument == instrument:
                return lane.deployment
        return ""

    def _metrics(self, now: int) -> list[tuple[str, str, float, int]]:
        lat = list(self.desk.latency_ns)[self._latency_mark :]
        self._latency_mark = len(self.desk.latency_ns)
        rows: list[tuple[str, str, float, int]] = []
        for name in self.deployments:
            for key, value in self.desk.counts.items():
                rows.append((name, key, float(value), now))
            if lat:
                us = np.asarray(lat, dtype=np.float64) / 1000.0
                rows.append((name, "tick_to_order_p50_us", float(np.percentile(us, 50)), now))
                rows.append((name, "tick_to_order_p99_us", float(np.percentile(us, 99)), now))
        return rows

    def health_report(self) -> dict[str, Any]:
        problems = []
        if not self.desk.trading:
            problems.append(self.desk.halt_reason or "not trading")
        if self.kill.state is not KillState.ACTIVE:
            problems.append(f"kill switch {self.kill.state.value}: {self.kill.record.reason}")
        problems.extend(f"{k} stream: {v}" for k, v in self.status.stream_errors.items())
        problems.extend(
            f"{lane.deployment} {lane.instrument} stopped: {lane.failed}"
            for lane in self.desk.lanes
            if lane.failed
        )
        last_tick = self.desk.processed_us or None
        return {
            "status": "ok" if not problems else "degraded",
            "problems": problems,
            "account_id": self.oms.account_id,
            "deployments": self.deployments,
            "kill_state": self.kill.state.value,
            "reconcile": self.status.reconcile,
            "last_tick_us": last_tick,
            "counts": dict(self.desk.counts),
            "idle": self.desk.idle() and not self.oms.open_orders(),
            "ticks_dropped": dict(self.desk.filter.dropped),
            "snapshot": self.status.last_snapshot,
        }
