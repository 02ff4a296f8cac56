"""The matching engine: accounts, orders, fills, trades and positions, as OANDA's v20 does them.

``VenueEngine`` is the engine's one entry point. Each public method takes the lock (commands
run as one unit of work: their transactions are stored together, then pushed to subscribers),
looks the account up, and hands over to the part that does the work:

- ``ledger``: accounts, transactions, the unit of work, storage and replay
- ``orders``: order requests, validation and rejects, cancel, replace
- ``fills`` / ``triggers``: fills against the book; pending orders, expiry, margin closeout
- ``trades`` / ``positions``: closing trades and positions, trade orders and labels
- ``queries`` / ``history``: read-only views and the transaction history
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tradewind.venue.engine import history, pricing
from tradewind.venue.engine.commits import Ticket
from tradewind.venue.engine.configure import configure
from tradewind.venue.engine.financing import Financing, QuoteAt
from tradewind.venue.engine.guaranteed import Guarantees
from tradewind.venue.engine.ledger import Ledger, Listener
from tradewind.venue.engine.model import Account
from tradewind.venue.engine.orders import Orders
from tradewind.venue.engine.positions import Positions
from tradewind.venue.engine.queries import Queries
from tradewind.venue.engine.store import MemoryStore, TransactionStore
from tradewind.venue.engine.trades import Trades
from tradewind.venue.engine.triggers import Triggers
from tradewind.venue.engine.views import QuoteFn
from tradewind.venue.instruments import VenueInstrument
from tradewind.venue.quotes import Quote

DEFAULT_ACCOUNT = "101-001-0000001-001"


class VenueEngine:
    """The venue's trading state. Thread-safe: every public method runs under one lock; a
    change returns once stored (written after the lock is released: ``commits``)."""

    def __init__(
        self,
        instruments: dict[str, VenueInstrument],
        now: Callable[[], int],
        quote: QuoteFn,
        store: TransactionStore | None = None,
        *,
        hedging: bool = False,
        opening_balance: float = 100_000.0,
        currency: str = "USD",
        account_id: str = DEFAULT_ACCOUNT,
        guarantees: Guarantees | None = None,
        quote_at: QuoteAt | None = None,
    ) -> None:
        """``guarantees``: the accounts' guaranteedStopLossOrderMode (DISABLED unless it
        says otherwise) and the premium and minimum distance of guaranteed stop losses."""
        self._ledger = Ledger(
            instruments, now, quote, store if store is not None else MemoryStore(), guarantees
        )
        self._triggers = Triggers(self._ledger)
        self._orders = Orders(self._ledger, self._triggers)
        self._trades = Trades(self._ledger, self._orders, self._triggers)
        self._positions = Positions(self._ledger, self._triggers.matcher)
        self._queries = Queries(self._ledger)
        self._financing = Financing(self._ledger, quote_at)
        self._ledger.replay()
        if not self.accounts:
            self.open_account(account_id, opening_balance, currency=currency, hedging=hedging)

    # ------------------------------------------------------------------ state

    @property
    def instruments(self) -> dict[str, VenueInstrument]:
        return self._ledger.instruments

    @property
    def now(self) -> Callable[[], int]:
        return self._ledger.now

    @property
    def quote(self) -> QuoteFn:
        return self._ledger.quote

    @property
    def store(self) -> TransactionStore:
        return self._ledger.store

    @property
    def lock(self) -> threading.RLock:
        return self._ledger.lock

    @property
    def accounts(self) -> dict[str, Account]:
        return self._ledger.accounts

    def pending(self) -> Ticket | None:
        """The last unit's write (``commits.settle`` it to answer only with stored state)."""
        return self._ledger.pending()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(account_id, transaction)`` after each transaction is stored (from
        the thread that made it; keep it quick). Returns the unsubscribe function."""
        return self._ledger.subscribe(listener)

    # ------------------------------------------------------------------ accounts

    def open_account(
        self,
        account_id: str,
        balance: float,
        *,
        currency: str = "USD",
        hedging: bool = False,
        alias: str = "Primary",
    ) -> dict[str, Any]:
        """Open a funded practice account: CREATE then TRANSFER_FUNDS."""
        with self._ledger.unit():
            return self._ledger.open_account(account_id, balance, currency, hedging, alias)

    def account(self, account_id: str) -> Account:
        return self._ledger.account(account_id)

    def account_exists(self, account_id: str) -> bool:
        with self.lock:
            return account_id in self.accounts

    def list_accounts(self) -> dict[str, Any]:
        with self.lock:
            return {"accounts": [{"id": a, "tags": []} for a in self.accounts]}

    def get_account(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            return self._queries.account(self.account(account_id))

    def get_summary(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            return self._queries.summary(self.account(account_id))

    def get_instruments(self, account_id: str, names: list[str] | None = None) -> dict[str, Any]:
        with self.lock:
            return self._queries.instruments(self.account(account_id), names)

    def get_changes(self, account_id: str, since: int) -> dict[str, Any]:
        with self.lock:
            return self._queries.changes(self.account(account_id), since)

    def configure(self, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH /configuration: CLIENT_CONFIGURE, or a VenueError(400) carrying the
        CLIENT_CONFIGURE_REJECT."""
        with self._ledger.unit():
            return configure(self._ledger, self.account(account_id), body)

    def pricing_extras(
        self, account_id: str, quotes: list[Quote], *, units: bool, home: bool
    ) -> dict[str, Any]:
        """What pricing adds for the account: ``unitsAvailable`` (by instrument) and
        ``homeConversions`` (for the quotes' currencies), as asked."""
        with self.lock:
            val = self._ledger.val(self.account(account_id))
            out: dict[str, Any] = {}
            if units:
                out["unitsAvailable"] = {
                    q.instrument: pricing.units_available(val, self.instruments[q.instrument], q)
                    for q in quotes
                }
            if home:
                ccys = {c for q in quotes for c in q.instrument.split("_", 1)}
                out["homeConversions"] = pricing.home_conversions(val, sorted(ccys))
            return out

    def settle_financing(self, upto_ns: int | None = None) -> list[dict[str, Any]]:
        """Charge every 17:00 New York rollover up to ``upto_ns`` (default and at most now) not
        yet charged: one DAILY_FINANCING per account and rollover (engine/financing.py)."""
        with self._ledger.unit():
            now = self.now()
            return self._financing.settle(now if upto_ns is None else min(upto_ns, now))

    # ------------------------------------------------------------------ orders

    def list_orders(
        self,
        account_id: str,
        *,
        state: str = "PENDING",
        instrument: str | None = None,
        count: int = 50,
        before_id: int | None = None,
        ids: list[str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            return self._queries.orders(acct, state, instrument, count, before_id, ids)

    def get_order(self, account_id: str, spec: str) -> dict[str, Any]:
        with self.lock:
            return self._queries.order(self.account(account_id), spec)

    def create_order(self, account_id: str, spec: Any) -> dict[str, Any]:
        """POST /orders: the create transaction and what followed (fill, cancel); a reject
        raises VenueError(400) carrying the reject transaction."""
        with self._ledger.unit():
            return self._orders.create(self.account(account_id), spec)

    def cancel_order(self, account_id: str, spec: str) -> dict[str, Any]:
        with self._ledger.unit():
            return self._orders.cancel(self.account(account_id), spec)

    def replace_order(self, account_id: str, spec: str, body: Any) -> dict[str, Any]:
        """PUT /orders/{spec}: cancel the order and create its replacement (201)."""
        with self._ledger.unit():
            return self._orders.replace(self.account(account_id), spec, body)

    def set_order_extensions(self, account_id: str, spec: str, body: Any) -> dict[str, Any]:
        with self._ledger.unit():
            return self._orders.set_extensions(self.account(account_id), spec, body)

    def on_quote(self, quote: Quote) -> None:
        """A new price: expire, trigger and fill pending orders on its instrument (oldest
        first), then run the margin closeout check on every account."""
        with self._ledger.unit():
            self._triggers.on_quote(quote)

    # ------------------------------------------------------------------ trades

    def list_trades(
        self,
        account_id: str,
        *,
        state: str = "OPEN",
        instrument: str | None = None,
        count: int = 50,
        before_id: int | None = None,
        ids: list[str] | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            acct = self.account(account_id)
            return self._queries.trades(acct, state, instrument, count, before_id, ids)

    def get_trade(self, account_id: str, spec: str) -> dict[str, Any]:
        with self.lock:
            return self._queries.trade(self.account(account_id), spec)

    def close_trade(self, account_id: str, spec: str, units: Any = "ALL") -> dict[str, Any]:
        with self._ledger.unit():
            return self._trades.close(self.account(account_id), spec, units)

    def set_trade_extensions(self, account_id: str, spec: str, body: Any) -> dict[str, Any]:
        with self._ledger.unit():
            return self._trades.set_extensions(self.account(account_id), spec, body)

    def set_trade_orders(self, account_id: str, spec: str, body: Any) -> dict[str, Any]:
        """PUT /trades/{spec}/orders: create, replace or cancel the trade's take profit and
        stop loss (a ``null`` cancels)."""
        with self._ledger.unit():
            return self._trades.set_orders(self.account(account_id), spec, body)

    # ------------------------------------------------------------------ positions

    def list_positions(self, account_id: str, open_only: bool = False) -> dict[str, Any]:
        with self.lock:
            return self._queries.positions(self.account(account_id), open_only)

    def get_position(self, account_id: str, instrument: str) -> dict[str, Any]:
        with self.lock:
            return self._queries.position(self.account(account_id), instrument)

    def close_position(self, account_id: str, instrument: str, body: Any) -> dict[str, Any]:
        with self._ledger.unit():
            return self._positions.close(self.account(account_id), instrument, body)

    # ------------------------------------------------------------------ transactions

    def transaction_pages(
        self,
        account_id: str,
        from_ns: int | None = None,
        to_ns: int | None = None,
        page_size: int = 100,
        types: list[str] | None = None,
    ) -> dict[str, Any]:
        """GET /transactions: the id ranges of pages (the route turns them into URLs)."""
        with self.lock:
            acct = self.account(account_id)
            return history.pages(acct, self.now(), from_ns, to_ns, page_size, types)

    def transactions_range(
        self, account_id: str, from_id: int, to_id: int, types: list[str] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            return history.id_range(self.account(account_id), from_id, to_id, types)

    def transactions_since(self, account_id: str, since_id: int) -> dict[str, Any]:
        with self.lock:
            return history.since(self.account(account_id), since_id)

    def get_transaction(self, account_id: str, tx_id: str) -> dict[str, Any]:
        with self.lock:
            return history.one(self.account(account_id), tx_id)

    def last_transaction_id(self, account_id: str) -> str:
        with self.lock:
            return str(self.account(account_id).last_tx)
