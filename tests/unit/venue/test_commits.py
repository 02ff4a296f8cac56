"""Group commit (``venue.engine.commits``): units made in a deferred context are stored later,
in order, several in one write; a failed write fails every unit made on top of it and the
engine goes back to what is stored."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from tradewind.venue.engine import DEFAULT_ACCOUNT, MemoryStore, VenueEngine
from tradewind.venue.engine.commits import StoreFailed, deferred, settle
from tradewind.venue.instruments import default_instruments
from tradewind.venue.quotes import Quote

A = DEFAULT_ACCOUNT
T0 = 1_700_000_000_000_000_000
EUR = Quote("EUR_USD", T0, ((1.1000, 1e7),), ((1.1002, 1e7),), True)


class Gated(MemoryStore):
    """Writes wait for ``gate``; ``fail`` makes the next write raise; each write is counted."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.fail = False
        self.writes: list[int] = []

    def append(self, accounts: Any, transactions: Any) -> None:
        self.gate.wait(10)
        if self.fail:
            self.fail = False
            raise OSError("disk full")
        self.writes.append(len(transactions))
        super().append(accounts, transactions)


def make(store: Gated) -> VenueEngine:
    return VenueEngine(default_instruments(), lambda: T0, {"EUR_USD": EUR}.get, store)


def order(e: VenueEngine, units: str) -> dict[str, Any]:
    return e.create_order(A, {"type": "MARKET", "instrument": "EUR_USD", "units": units})


def test_deferred_units_are_stored_in_order_in_one_write_once_settled() -> None:
    store = Gated()
    e = make(store)
    store.gate.clear()  # hold the writer: the units queue up behind the first
    with deferred():
        got = [order(e, u) for u in ("1000", "-1000", "500")]
    ticket = e.pending()
    assert ticket is not None
    assert not ticket.done
    store.gate.set()
    asyncio.run(settle(ticket))
    ids = [int(t["id"]) for _, t in store.transactions]
    assert ids == list(range(1, len(ids) + 1))
    assert [g["orderFillTransaction"]["id"] for g in got] == ["4", "6", "8"]
    assert sum(store.writes[1:]) == 6
    assert len(store.writes) <= 3
    assert make(store).get_account(A) == e.get_account(A)  # replays to the same state


def test_a_failed_group_fails_what_was_made_on_it_and_restores_the_stored_state() -> None:
    store = Gated()
    e = make(store)
    stored = e.get_account(A)
    store.gate.clear()
    store.fail = True
    with deferred():
        order(e, "1000")
        order(e, "-500")
    ticket = e.pending()
    store.gate.set()
    with pytest.raises((OSError, StoreFailed)):
        asyncio.run(settle(ticket))
    for _ in range(200):  # the rebuild runs on the writer's thread
        if e.get_account(A) == stored:
            break
        threading.Event().wait(0.01)
    assert e.get_account(A) == stored
    nxt = order(e, "1")["orderCreateTransaction"]["id"]  # writes are accepted again
    assert int(nxt) == int(stored["lastTransactionID"]) + 1
    assert make(store).get_account(A) == e.get_account(A)
