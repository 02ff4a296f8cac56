"""The ledger: the venue's accounts, the transactions that change them, and their storage.

Every change is a transaction: ``emit`` folds each into its account with ``apply`` as it is
made, and a unit of work (``unit``) hands its transactions to the store in one go when it ends
and returns once they are stored (``commits``: written outside the lock, in order, grouped;
subscribers get them once stored). On start the stored transactions are replayed through the
same ``apply``, so a restarted engine has the same state and ids. What an order tracks that
its create transaction has no field for (``note_state``) is written with the unit that set it
and put back after the replay.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal
from typing import Any

from tradewind.venue.engine.apply import apply
from tradewind.venue.engine.commits import Batch, GroupCommitter, Ticket, is_deferred
from tradewind.venue.engine.guaranteed import Guarantees
from tradewind.venue.engine.model import HOME_PLACES, Account, Order, Trade, round_even
from tradewind.venue.engine.parse import Reject, message
from tradewind.venue.engine.store import (
    AccountRecord,
    OrderStateStore,
    StateRow,
    TransactionStore,
)
from tradewind.venue.engine.views import QuoteFn, Valuation, money, summary_json
from tradewind.venue.instruments import VenueInstrument
from tradewind.venue.wire import VenueError, format_time, not_found, scrub

Listener = Callable[[str, dict[str, Any]], None]


class Ledger:
    """Accounts and their transaction log; what every part of the engine records through.

    Not locked itself: callers hold ``lock`` (``unit`` takes it)."""

    def __init__(
        self,
        instruments: dict[str, VenueInstrument],
        now: Callable[[], int],
        quote: QuoteFn,
        store: TransactionStore,
        guarantees: Guarantees | None = None,
    ) -> None:
        self.instruments, self.now, self.quote = instruments, now, quote
        self.guarantees = guarantees if guarantees is not None else Guarantees()
        self.store = store
        self.commits = GroupCommitter(store, self._stored)
        self.commits.on_failure = self._rebuild
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self._listeners: list[Listener] = []
        self._batch: list[tuple[str, dict[str, Any]]] = []
        self._new_accounts: list[AccountRecord] = []
        self._state: list[StateRow] = []
        self._batch_id: dict[str, str] = {}
        self._depth = 0

    # ------------------------------------------------------------------ storage

    def replay(self) -> None:
        """Rebuild every account from the store (text UTF-8 cannot encode, stored before
        requests were checked for it, is read with U+FFFD in its place)."""
        records, txs = self.store.load()
        self.accounts = {
            r.id: Account(r.id, r.currency, r.hedging, r.alias, r.created_time) for r in records
        }
        for acct in self.accounts.values():
            acct.gsl_mode = self.guarantees.mode_of(acct.id)
        for account_id, tx in txs:
            apply(self.accounts[account_id], scrub(tx))
        if isinstance(self.store, OrderStateStore):
            for account_id, order_id, key, value in self.store.load_state():
                owner = self.accounts.get(account_id)
                order = owner.orders.get(order_id) if owner is not None else None
                if order is not None:
                    order.extra[key] = value

    def note_state(self, acct: Account, order: Order, key: str, value: str) -> None:
        """Keep ``order.extra[key] = value`` (set by the caller) across a restart: it is
        written with this unit's transactions (a unit that makes none writes just that)."""
        self._state.append((acct.id, order.id, key, value))

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self.lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self.lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @contextmanager
    def unit(self) -> Iterator[None]:
        """One unit of work, under the lock: its transactions are queued for the store when it
        ends (also when it ends with a VenueError: rejects are transactions too), and it
        returns once they are stored (in a ``commits.deferred`` context it returns at once:
        the caller settles ``pending()``); any other error rebuilds the state from the store."""
        ticket: Ticket | None = None
        try:
            with self.lock:
                self._depth += 1
                if self._depth > 1:  # nested: the outer unit commits
                    try:
                        yield
                    finally:
                        self._depth -= 1
                    return
                try:
                    yield
                except VenueError:
                    ticket = self._submit()
                    raise
                except BaseException:
                    self._batch, self._new_accounts, self._batch_id = [], [], {}
                    self._state = []
                    self._rebuild()
                    raise
                else:
                    ticket = self._submit()
                finally:
                    self._depth -= 1
        finally:
            if ticket is not None:
                if is_deferred():
                    self.commits.background()
                else:
                    self.commits.wait(ticket)

    def pending(self) -> Ticket | None:
        """The last unit's write: once it is stored, so is every state a reader has seen."""
        return self.commits.last()

    def _submit(self) -> Ticket | None:
        batch, accounts, state = self._batch, self._new_accounts, self._state
        self._batch, self._new_accounts, self._batch_id, self._state = [], [], {}, []
        if not batch and not accounts and not state:
            return None
        return self.commits.submit(accounts, batch, state)

    def _rebuild(self) -> None:
        """The state from the store, once every write queued before is settled."""
        with self.lock:
            self.commits.commit_pending()
            self.replay()
            self.commits.reset()

    def _stored(self, batch: Batch) -> None:
        for account_id, tx in batch:
            for listener in list(self._listeners):
                with suppress(Exception):
                    listener(account_id, tx)

    # ------------------------------------------------------------------ transactions

    def emit(self, acct: Account, kind: str, **fields: Any) -> dict[str, Any]:
        """Make a transaction (``None`` fields left out), apply it and add it to the unit."""
        tx_id = str(acct.last_tx + 1)
        batch = self._batch_id.setdefault(acct.id, tx_id)
        tx: dict[str, Any] = {
            "id": tx_id,
            "time": format_time(self.now()),
            "userID": 1,
            "accountID": acct.id,
            "batchID": batch,
            "requestID": batch,
            "type": kind,
        }
        tx.update({k: v for k, v in fields.items() if v is not None})
        tx = scrub(tx)  # no text UTF-8 cannot encode is ever stored or sent
        apply(acct, tx)
        self._batch.append((acct.id, tx))
        return tx

    def related(self, acct: Account) -> dict[str, Any]:
        """The ids this unit made for ``acct``, and its last transaction id."""
        ids = [tx["id"] for a, tx in self._batch if a == acct.id]
        return {"relatedTransactionIDs": ids, "lastTransactionID": str(acct.last_tx)}

    def cancel(self, acct: Account, order: Order, reason: str, **extra: Any) -> dict[str, Any]:
        return self.emit(
            acct, "ORDER_CANCEL", orderID=order.id, reason=reason, **extra,
        )  # fmt: skip

    def reject(self, acct: Account, kind: str, r: Reject, key: str, status: int = 400) -> None:
        """Record the reject transaction and raise it as a VenueError (under ``key``)."""
        self.reject_all(acct, [(kind, r, key)], status)

    def reject_all(
        self, acct: Account, rejects: list[tuple[str, Reject, str]], status: int = 400
    ) -> None:
        """Record a reject transaction of each ``(kind, reject, key)`` and raise them together
        as one VenueError (each under its key; the first's reason is the error code)."""
        out: dict[str, Any] = {}
        for kind, r, key in rejects:
            fields = {k: v for k, v in r.fields.items() if k != "type"}
            out[key] = self.emit(acct, kind, **fields, rejectReason=r.reason)
        first = rejects[0][1].reason
        raise VenueError(status, message(first), first, **out, **self.related(acct))

    # ------------------------------------------------------------------ accounts

    def account(self, account_id: str) -> Account:
        acct = self.accounts.get(account_id)
        if acct is None:
            raise not_found("The Account specified does not exist")
        return acct

    def val(self, acct: Account) -> Valuation:
        return Valuation(acct, self.instruments, self.quote)

    def open_account(
        self, account_id: str, balance: float, currency: str, hedging: bool, alias: str
    ) -> dict[str, Any]:
        """CREATE then TRANSFER_FUNDS (in the caller's unit)."""
        if account_id in self.accounts:
            raise VenueError(400, "The Account already exists", "INVALID_VALUE")
        created = format_time(self.now())
        record = AccountRecord(account_id, currency, hedging, alias, created)
        mode = self.guarantees.mode_of(account_id)
        acct = Account(account_id, currency, hedging, alias, created, gsl_mode=mode)
        self.accounts[account_id] = acct
        self._new_accounts.append(record)
        site, division, user, number = (account_id.split("-") + ["0"] * 4)[:4]
        self.emit(
            acct,
            "CREATE",
            divisionID=int(division) if division.isdigit() else 1,
            siteID=int(site) if site.isdigit() else 101,
            accountUserID=int(user) if user.isdigit() else 1,
            accountNumber=int(number) if number.isdigit() else 1,
            homeCurrency=currency,
        )
        amount = round_even(Decimal(str(balance)), HOME_PLACES)
        self.emit(
            acct,
            "TRANSFER_FUNDS",
            amount=money(amount),
            fundingReason="CLIENT_FUNDING",
            accountBalance=money(amount),
        )
        return {"account": summary_json(acct, self.val(acct))}


def find_order(acct: Account, spec: str) -> Order:
    """An order by id or by ``@clientOrderID``."""
    oid = acct.client_orders.get(spec[1:]) if spec.startswith("@") else spec
    order = acct.orders.get(oid or "")
    if order is None:
        raise not_found("The Order specified does not exist")
    return order


def find_trade(acct: Account, spec: str) -> Trade:
    """A trade by id or by ``@clientTradeID``."""
    tid = acct.client_trades.get(spec[1:]) if spec.startswith("@") else spec
    trade = acct.trades.get(tid or "")
    if trade is None:
        raise not_found("The Trade specified does not exist")
    return trade
