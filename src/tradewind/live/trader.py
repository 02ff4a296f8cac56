"""The live trader service: streams in, orders out, state in the database.

``Trader.run`` reconciles with the broker before anything else (and trades only while the
books are clean), then runs three threads around the ``Desk``: the price stream (ticks to
the desk), the transaction stream (each transaction applied once to the OMS; the broker's
stream backfills from ``sinceid`` after a drop), and this one, which every
``snapshot_every_s`` refreshes the account (NAV for the kill switch's loss and drawdown
limits), re-reads the kill switch (``tradewind live halt/resume`` from another process),
writes positions, P&L, latency and heartbeats for the dashboards, and every
``reconcile_every_s`` reconciles again. A failed reconciliation halts trading through the
kill switch. With the snapshots it also reads which model each model deployment should run
(``live.models``: a launched version is loaded off the price thread and swapped in at the
deployment's next bar boundary). SIGTERM/SIGINT (or ``stop``) end it gracefully: working
algorithms are cancelled (their leftovers are not re-sent), a last snapshot is written,
deployments marked stopped.

Orders are stored and go out on the order worker's thread (``oms.worker``), never the price
thread.

**The broker unreachable.** Any broker error in the main loop (snapshot, reconcile) marks the
broker unreachable: no new orders (the desk refuses them, saying since when), ``/health``
and ``tradewind live status`` say ``degraded: broker unreachable since …``, and the loop keeps
probing. Streams reconnect by themselves; one that gives up is started again. When the broker
answers again, the trader reconciles and trades on once the books are clean. After
``max_outage_s`` unreachable it stops, with that reason (working orders cancelled if the
broker takes the cancels by then).

**Waiting is not a mismatch.** Orders in flight, and orders a reconciliation could not
resolve within their grace period (``order_grace_s``), are waited for
(``ReconcileReport.waiting``, looked up again every second): they stay open orders, so the
decision code and the risk checks count them as pending; only a real difference halts.
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
from tradewind.domain.broker import Heartbeat
from tradewind.domain.market import utc_seconds_iso
from tradewind.domain.ticks import Tick
from tradewind.live.desk import Desk
from tradewind.live.health import serve_health
from tradewind.live.lease import Lease, LeaseLost
from tradewind.live.models import ModelSwitch
from tradewind.oms.ledger import to_account_factor, unrealized_pl
from tradewind.oms.manager import OrderManager
from tradewind.oms.worker import OrderWorker
from tradewind.risk import KillState, KillSwitch
from tradewind.risk.killrecord import TRADING

log = logging.getLogger(__name__)


class LiveStore(Protocol):
    """Where the trader writes what dashboards read (``storage.live.SqlLiveStore``)."""

    def heartbeat(
        self, names: Sequence[str], detail: str = "", status: str = "running"
    ) -> None: ...

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
    unreachable_since: float | None = None  # wall time of the first failed broker call
    unreachable_error: str = ""
    stop_reason: str = ""


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
        worker: OrderWorker | None = None,
        order_grace_s: float = 60.0,
        max_outage_s: float = 300.0,
        lease: Lease | None = None,
        models: ModelSwitch | None = None,
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
        self.worker = worker
        self.order_grace_s = order_grace_s
        self.max_outage_s = max_outage_s
        self.health_url: str | None = None
        self._reconcile_soon = False  # waiting orders or a recovered broker: look again soon
        self.lease = lease  # the account's single-writer lease, renewed by the main loop
        self.models = models  # launched models: read, loaded and swapped at bar boundaries
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
        if self.worker is not None:
            self.worker.start()
        self.reconcile()
        self._guarded(self.snapshot)
        self._start_thread("prices", self._prices)
        self._start_thread("transactions", self._transactions)
        deadline = time.monotonic() + duration_s if duration_s is not None else None
        with self._health() as url:
            self.health_url = url
            if on_ready is not None:
                on_ready(self)
            next_snapshot = time.monotonic() + self.snapshot_every_s
            next_reconcile = time.monotonic() + self.reconcile_every_s
            next_models = time.monotonic()
            while not self.stop_event.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if not self._lease_ok():
                    break
                self._guarded(self.desk.flush_bars)
                self._guarded(self.desk.poll)
                if now >= next_snapshot:
                    self._guarded(self.snapshot)
                    next_snapshot = now + self.snapshot_every_s
                if self.models is not None and now >= next_models:
                    self._guarded(self.models.poll)
                    next_models = now + self.models.every_s
                if now >= next_reconcile or self._reconcile_soon:
                    self._reconcile_soon = False
                    self.reconcile()
                    soon = self._reconcile_soon or self.status.unreachable_since is not None
                    next_reconcile = now + (
                        min(1.0, self.reconcile_every_s) if soon else self.reconcile_every_s
                    )
                    self._reconcile_soon = False
                if self._outage_over():
                    break
                self.stop_event.wait(0.2)
            self.shutdown(self.status.stop_reason or "graceful shutdown")
        return self.status.last_snapshot

    def stop(self) -> None:
        self.stop_event.set()

    def shutdown(self, reason: str = "graceful shutdown") -> None:
        self.stop_event.set()
        self.desk.cancel_all("shutdown")
        if self.worker is not None:
            self.worker.stop(timeout=10.0)  # the cancels go out before the streams close
        for t in self._threads:
            t.join(timeout=5)
        if self.lease_lost:  # the account is another trader's now: write nothing more
            return
        try:
            self.snapshot()
        except BrokerError as exc:
            log.warning("last snapshot failed: %s", exc)
        status = "stopped" if reason == "graceful shutdown" else "failed"
        self.store.stop(self.deployments, status, reason)
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

    # --- the broker unreachable ----------------------------------------------------------
    def _guarded(self, call: Callable[[], Any]) -> None:
        """Run one step of the main loop: a broker error marks the broker unreachable, any
        other error is logged; neither ends the loop."""
        try:
            call()
        except BrokerError as exc:
            self._unreachable(exc)
            return
        except Exception:
            log.exception("live trader: %s failed", getattr(call, "__name__", call))
            return

    def _unreachable(self, exc: Exception) -> None:
        first = self.status.unreachable_since is None
        if first:
            self.status.unreachable_since = time.time()
        self.status.unreachable_error = f"{type(exc).__name__}: {exc}"
        since = _iso(self.status.unreachable_since or time.time())
        self.desk.trading = False
        self.desk.halt_reason = f"broker unreachable since {since}: {exc}"
        (log.error if first else log.debug)("live trader: %s", self.desk.halt_reason)
        try:
            self.store.heartbeat(self.deployments, "degraded: " + self.desk.halt_reason, "degraded")
        except Exception:
            log.exception("live trader: could not write the heartbeat")

    def _reachable(self) -> None:
        since = self.status.unreachable_since
        self.status.unreachable_since = None
        self.status.unreachable_error = ""
        log.warning(
            "live trader: the broker answers again after %.1f s; reconciling before trading",
            time.time() - (since or time.time()),
        )
        self._reconcile_soon = True

    def _outage_over(self) -> bool:
        since = self.status.unreachable_since
        if since is None or time.time() - since < self.max_outage_s:
            return False
        self.status.stop_reason = (
            f"broker unreachable for {time.time() - since:.0f} s (since {_iso(since)}; limit "
            f"{self.max_outage_s:g} s): {self.status.unreachable_error}"
        )
        log.error("live trader stops: %s", self.status.stop_reason)
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
            delay = 1.0
            while not self.stop_event.is_set():
                try:
                    target()
                    return
                except Exception as exc:  # a stream that gave up: no trading until it is back
                    if self.stop_event.is_set():
                        return
                    log.exception("%s stream failed; starting it again in %.0f s", name, delay)
                    self.status.stream_errors[name] = f"{type(exc).__name__}: {exc}"
                    self.desk.trading = False
                    self.desk.halt_reason = f"{name} stream down: {exc}"
                    self.stop_event.wait(delay)
                    delay = min(delay * 2, 30.0)

        return run

    def _stream_up(self, name: str) -> None:
        """A stream delivers again: the next reconcile may let trading resume."""
        if self.status.stream_errors.pop(name, None) is not None:
            log.warning("%s stream is back", name)
            self._reconcile_soon = True

    # --- streams -------------------------------------------------------------------------
    def _prices(self) -> None:
        stream = self.broker.price_stream(self.instruments, heartbeats=True)
        try:
            for item in stream:
                if self.stop_event.is_set():
                    return
                if self.status.stream_errors:
                    self._stream_up("prices")
                if isinstance(item, Tick):
                    self.desk.on_tick(item)
        finally:
            _close(stream)

    def _transactions(self) -> None:
        since = self.oms.last_transaction_id
        stream = self.broker.transaction_stream(
            str(since) if since is not None else None, heartbeats=True
        )
        try:
            for event in stream:
                if self.stop_event.is_set():
                    return
                if self.status.stream_errors:
                    self._stream_up("transactions")
                if isinstance(event, Heartbeat):
                    continue
                self.oms.apply_transaction(event)
                self.oms.advance(event.transaction_id)
        finally:
            _close(stream)

    # --- periodic ------------------------------------------------------------------------
    def reconcile(self) -> None:
        try:
            report = self.oms.reconcile(int(self.order_grace_s * 1_000_000))
        except BrokerError as exc:
            log.warning("reconcile: broker error %s; trading paused until it succeeds", exc)
            self.status.reconcile = f"error: {exc}"
            self._unreachable(exc)
            return
        if self.status.unreachable_since is not None:
            self._reachable()
            self._reconcile_soon = False  # this was the reconcile after the outage
        self.status.reconcile = report.summary()
        self.status.reconcile_clean = report.clean
        if report.clean:
            # orders not found yet (a lost answer, or a process that died mid-send) are
            # waited for, never a reason to halt: they count as pending, so the decision code
            # and the risk checks already take them into account; look again soon
            self._reconcile_soon = bool(report.waiting)
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
        acct = self.broker.account_summary()
        if self.status.unreachable_since is not None:
            self._reachable()
        nav = acct.nav
        self.desk.account.currency = acct.currency or self.desk.account.currency
        self.desk.account.nav = nav
        self.desk.account.margin_available = acct.margin_available
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
            "kill_state": self.kill.state.value,  # the stored value; shown: kill_switch
            "trading": TRADING[self.kill.state],
            "kill_switch": self.kill.record.as_json(),
            "reconciled": self.desk.trading,
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
            problems.append(self.kill.record.describe())
        problems.extend(f"{k} stream: {v}" for k, v in self.status.stream_errors.items())
        if self.status.unreachable_since is not None and not any(
            "broker unreachable" in p for p in problems
        ):
            problems.append(
                f"broker unreachable since {_iso(self.status.unreachable_since)}: "
                f"{self.status.unreachable_error}"
            )
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
            "trading": TRADING[self.kill.state],
            "kill_switch": self.kill.record.as_json(),
            "reconcile": self.status.reconcile,
            "last_tick_us": last_tick,
            "counts": dict(self.desk.counts),
            "idle": self.desk.idle()
            and not self.oms.open_orders()
            and (self.worker is None or self.worker.idle()),
            "broker_unreachable_since": _iso(self.status.unreachable_since)
            if self.status.unreachable_since is not None
            else None,
            "ticks_dropped": dict(self.desk.filter.dropped),
            "models": self.models.report() if self.models is not None else {},
            "snapshot": self.status.last_snapshot,
        }


def _iso(wall_s: float) -> str:
    return utc_seconds_iso(int(wall_s * 1_000_000))


def _close(stream: Any) -> None:
    """Close a stream (a generator: ends its connection)."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()
