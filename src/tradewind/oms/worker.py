"""The order worker: one account's order commits and calls, off the price thread.

The desk decides on the price thread and must never wait for the broker or the database: a
slow order call or commit would hold back the ticks of every instrument, bar closes and the
trader's main loop. So the desk's ``submit`` only *prepares* the order (client id, NEW, in the
OMS's memory: no database write, no network) and queues it; this worker takes the queued
orders and cancels one at a time, first in first out, so the order of decisions is kept. For
an order it first commits it (NEW, with its command), then sends it: a crash between the two
leaves a NEW order that reconciliation resolves, one before leaves nothing stored and nothing
sent. An order it cannot commit (database down) is not sent: it ends REJECTED in memory
(reason "not sent: it could not be stored ..."), logged and reported to risk as an error.
Execution algorithms read their orders' states from the OMS as the answers land (NEW ->
SUBMITTED -> ...), and ask for cancels through the same queue (a cancel is sent after the
submit it follows).

While an order is queued or being sent the OMS counts it as in flight, and reconciliation
waits for it. On ``stop`` the worker finishes what is queued (cancels first matter most:
working orders must come off the book), up to a deadline; submits still queued then are
closed as never sent (in memory only: they were never stored).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from tradewind.domain.orders import OrderIntent, OrderRecord
from tradewind.oms.manager import OrderManager

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Job:
    kind: str  # "send" or "cancel"
    client_id: str


class OrderWorker:
    """Sends and cancels the orders of ``oms`` on a thread of its own."""

    def __init__(self, oms: OrderManager, name: str = "orders") -> None:
        self.oms = oms
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"live-{name}", daemon=True)
        self._pending = 0  # jobs queued or being worked
        self._count_lock = threading.Lock()
        self._stopping = False
        self.sent = 0
        self.errors = 0

    # --- what the desk and the algorithms call ------------------------------------------
    def submit(self, intent: OrderIntent) -> OrderRecord:
        """Prepare the order (in memory) and queue it; returns it NEW (the worker stores and
        sends it; its answer lands in the OMS)."""
        if self._stopping:
            raise RuntimeError("the order worker is stopping: no new orders")
        order = self.oms.prepare(intent)
        self._put(_Job("send", order.client_id))
        return order

    def order(self, client_id: str) -> OrderRecord:
        return self.oms.order(client_id)

    def cancel(self, client_id: str) -> OrderRecord:
        """Queue a cancel; returns the order as it is now (the algorithm asks again later
        while it stays open)."""
        self._put(_Job("cancel", client_id))
        return self.oms.order(client_id)

    def _put(self, job: _Job) -> None:
        with self._count_lock:
            self._pending += 1
        self._jobs.put(job)

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> OrderWorker:
        self._thread.start()
        return self

    def idle(self) -> bool:
        """Nothing queued, nothing being sent."""
        return self._pending == 0

    def drain(self, timeout: float) -> bool:
        """Wait until everything queued so far is done; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued (up to ``timeout``), then stop. Submits left unsent are
        closed as never sent."""
        self._stopping = True
        if not self._thread.is_alive():
            self._drop_queued("the order worker was not running")
            return
        drained = self.drain(timeout)
        self._jobs.put(None)
        self._thread.join(timeout=max(1.0, timeout))
        if not drained:
            self._drop_queued("not sent: the trader stopped before it could send it")

    def _drop_queued(self, reason: str) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is None:
                continue
            with self._count_lock:
                self._pending -= 1
            if job.kind == "send":
                self.oms.drop_prepared(job.client_id, reason)

    # --- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._work(job)
            except Exception:  # the order stays in the books; reconciliation resolves it
                self.errors += 1
                log.exception("order worker: %s %s failed", job.kind, job.client_id)
            finally:
                with self._count_lock:
                    self._pending -= 1

    def _work(self, job: _Job) -> None:
        if job.kind == "send":
            self.oms.send(job.client_id)
            self.sent += 1
        else:
            self.oms.cancel(job.client_id)
