"""Group commit: the engine's units of work are written to the store outside its lock, in
the order they were made, many in one database transaction.

A unit makes its transactions under the engine's lock and ``submit``s them (a ``Ticket``, in
lock order, so in id order). Whoever waits for a ticket writes every ticket queued so far in
one ``store.append`` (``commit_pending``; one group at a time, under ``_mutex``, so groups
reach the store in order); the engine's lock is free meanwhile, so other requests run while
the database commits. A caller learns its unit is durable only when its ticket is done:
the HTTP routes answer after that (``deferred`` + ``settle``), in-process callers block in
``Ticket.wait``.

A failed write fails its group and everything queued after it (those units were made on
top of it) and poisons the committer: tickets submitted until ``reset`` fail at once. The
ledger then rebuilds its state from the store (``on_failure``) and resets the committer.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tradewind.venue.engine.store import (
    AccountRecord,
    OrderStateStore,
    StateRow,
    TransactionStore,
)

Batch = list[tuple[str, dict[str, Any]]]
_DEFER: contextvars.ContextVar[bool] = contextvars.ContextVar("venue_defer", default=False)


class StoreFailed(RuntimeError):
    """A unit made on top of a unit whose write failed (the state is being rebuilt)."""


class Ticket:
    """One unit's write: done once stored (``error`` None) or failed."""

    __slots__ = ("_callbacks", "_done", "_lock", "accounts", "error", "state", "transactions")

    def __init__(
        self, accounts: list[AccountRecord], transactions: Batch, state: list[StateRow]
    ) -> None:
        self.accounts, self.transactions, self.state = accounts, transactions, state
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def finish(self, error: BaseException | None) -> None:
        with self._lock:
            self.error = error
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb()

    def on_done(self, cb: Callable[[], None]) -> None:
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(cb)
                return
        cb()

    def result(self) -> None:
        if self.error is not None:
            raise self.error


class GroupCommitter:
    def __init__(self, store: TransactionStore, on_stored: Callable[[Batch], None]) -> None:
        self.store, self._on_stored = store, on_stored
        self.on_failure: Callable[[], None] = lambda: None
        self._cond = threading.Condition()
        self._mutex = threading.Lock()
        self._queue: list[Ticket] = []
        self._last: Ticket | None = None
        self._poisoned = False
        self._thread: threading.Thread | None = None

    def submit(
        self,
        accounts: list[AccountRecord],
        transactions: Batch,
        state: list[StateRow] | None = None,
    ) -> Ticket:
        """Queue a unit's write (the caller holds the engine's lock: queue order = id order);
        ``state``: the orders' state rows it set (written after its transactions)."""
        ticket = Ticket(accounts, transactions, state or [])
        with self._cond:
            self._last = ticket
            if self._poisoned:
                ticket.finish(StoreFailed("an earlier write failed; the venue is rebuilding"))
                return ticket
            self._queue.append(ticket)
            self._cond.notify()
        return ticket

    def last(self) -> Ticket | None:
        """The last ticket submitted (tickets finish in order: when it is done, all are)."""
        return self._last

    def commit_pending(self) -> None:
        """Write every queued ticket in one ``store.append`` (``append_with_state`` when
        they set orders' state and the store keeps it), then run ``on_stored``."""
        failed = False
        with self._mutex:
            with self._cond:
                group, self._queue = self._queue, []
            if not group:
                return
            batch = [tx for t in group for tx in t.transactions]
            accounts = [a for t in group for a in t.accounts]
            state = [row for t in group for row in t.state]
            try:
                if state and isinstance(self.store, OrderStateStore):
                    self.store.append_with_state(accounts, batch, state)
                else:
                    self.store.append(accounts, batch)
            except BaseException as exc:
                with self._cond:
                    self._poisoned = True
                    group, self._queue = group + self._queue, []
                for t in group:
                    t.finish(exc)
                failed = True
            else:
                for t in group:
                    t.finish(None)
                self._on_stored(batch)
        if failed:  # outside the mutex: the rebuild takes the engine's lock first
            self.on_failure()

    def reset(self) -> None:
        """After the rebuild (under the engine's lock): accept writes again."""
        with self._cond:
            self._poisoned = False

    def wait(self, ticket: Ticket) -> None:
        """Block until ``ticket`` is stored (writing the queue in this thread if need be)."""
        while not ticket.done:
            self.commit_pending()
        ticket.result()

    def background(self) -> None:
        """Start the thread that writes what deferred callers queue (once)."""
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="venue-commits", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
            self.commit_pending()


def is_deferred() -> bool:
    return _DEFER.get()


@contextmanager
def deferred() -> Iterator[None]:
    """Units in this context do not wait for their write: the caller ``settle``s later."""
    token = _DEFER.set(True)
    try:
        yield
    finally:
        _DEFER.reset(token)


async def settle(ticket: Ticket | None) -> None:
    """Wait (without blocking the event loop) until ``ticket`` and all before it are stored;
    raises the write's error if it failed."""
    if ticket is None:
        return
    if not ticket.done:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        def from_thread() -> None:
            loop.call_soon_threadsafe(wake)

        ticket.on_done(from_thread)
        await fut
    ticket.result()
