"""What an order tracks that its create transaction has no field for (a trailing stop's
``trailingStopValue``, a market-if-touched order's ``initialMarketPrice``) is stored with the
unit of work that set it and put back on replay (the SQL store: test_venue_order_types.py)."""

from __future__ import annotations

from typing import Any

from tradewind.testing.venue_market import ManualMarket
from tradewind.venue.engine import DEFAULT_ACCOUNT, MemoryStore, VenueEngine
from tradewind.venue.engine.store import StateRow
from tradewind.venue.instruments import default_instruments

A = DEFAULT_ACCOUNT
T0 = 1_700_000_000_000_000_000


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.state_writes: list[list[StateRow]] = []

    def append_with_state(self, accounts: Any, transactions: Any, state: list[StateRow]) -> None:
        self.state_writes.append(list(state))
        super().append_with_state(accounts, transactions, state)


def _setup() -> tuple[ManualMarket, CountingStore, VenueEngine, str]:
    mkt = ManualMarket(T0, step_ns=1_000_000_000)
    mkt.set("EUR_USD", 1.1000, 1.1002)
    store = CountingStore()
    e = VenueEngine(default_instruments(), mkt.now, mkt.quotes.get, store)
    fill = e.create_order(A, {"type": "MARKET", "instrument": "EUR_USD", "units": "-1000"})
    tid = fill["orderFillTransaction"]["tradeOpened"]["tradeID"]
    out = e.create_order(A, {"type": "TRAILING_STOP_LOSS", "tradeID": tid, "distance": "0.0050"})
    return mkt, store, e, str(out["orderCreateTransaction"]["id"])


def test_a_short_trades_trailing_stop_is_written_once_per_move_and_restored() -> None:
    mkt, store, e, oid = _setup()
    # created with the order (ask 1.1002 + 0.0050), in the same write as its transaction
    assert store.state_writes == [[(A, oid, "trailingStopValue", "1.10520")]]
    for bid, ask in ((1.0990, 1.0992), (1.0995, 1.0997), (1.0991, 1.0993), (1.0990, 1.0992)):
        e.on_quote(mkt.set("EUR_USD", bid, ask))
    # one move down (1.0992 + 0.0050); the other prices left it where it was: no write
    assert store.state_writes[1:] == [[(A, oid, "trailingStopValue", "1.10420")]]
    again = VenueEngine(default_instruments(), mkt.now, mkt.quotes.get, store)
    assert again.get_order(A, oid)["order"]["trailingStopValue"] == "1.10420"
    again.on_quote(mkt.set("EUR_USD", 1.1040, 1.1042))  # the ask reaches it
    assert again.get_order(A, oid)["order"]["state"] == "FILLED"


def test_a_market_if_touched_order_keeps_its_initial_price_in_a_restarted_engine() -> None:
    mkt, store, e, _ = _setup()
    spec = {
        "type": "MARKET_IF_TOUCHED",
        "instrument": "EUR_USD",
        "units": "-100",
        "price": "1.0990",
    }
    oid = e.create_order(A, spec)["orderCreateTransaction"]["id"]  # a sell below: a stop
    assert store.state_writes[-1] == [(A, oid, "initialMarketPrice", "1.10000")]
    again = VenueEngine(default_instruments(), mkt.now, mkt.quotes.get, store)
    assert again.get_order(A, oid)["order"]["initialMarketPrice"] == "1.10000"
    again.on_quote(mkt.set("EUR_USD", 1.0985, 1.0987))  # the bid fell through it
    assert again.get_order(A, oid)["order"]["state"] == "FILLED"


def test_the_create_transactions_carry_no_venue_private_field() -> None:
    _mkt, store, _e, oid = _setup()
    created = next(tx for _a, tx in store.transactions if tx["id"] == oid)
    assert "trailingStopValue" not in created
    assert "initialMarketPrice" not in created
