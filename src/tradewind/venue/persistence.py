"""The venue's transactions in the database (tables ``venue_accounts`` and
``venue_transactions``, migration 0003; the orders' state, ``venue_order_state``, 0013): the
engine's ``TransactionStore`` and ``OrderStateStore``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from tradewind.storage.schema import VenueAccountRow, VenueOrderStateRow, VenueTransactionRow
from tradewind.storage.types import us_to_datetime
from tradewind.venue.engine.store import AccountRecord, StateRow
from tradewind.venue.wire import parse_time


class SqlTransactionStore:
    """Each ``append`` is one database transaction; ``load`` reads everything back in order.
    The database must be migrated (``tradewind.storage.migrate.upgrade``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self) -> tuple[list[AccountRecord], list[tuple[str, dict[str, Any]]]]:
        with self.engine.connect() as conn:
            accounts = [
                AccountRecord(r.id, r.currency, bool(r.hedging), r.alias, r.created_time)
                for r in conn.execute(select(VenueAccountRow).order_by(VenueAccountRow.id))
            ]
            rows = conn.execute(
                select(VenueTransactionRow.account_id, VenueTransactionRow.body).order_by(
                    VenueTransactionRow.account_id, VenueTransactionRow.id
                )
            )
            return accounts, [(a, dict(body)) for a, body in rows]

    def load_state(self) -> list[StateRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(VenueOrderStateRow))
            return [(r.account_id, str(r.order_id), r.key, r.value) for r in rows]

    def append(
        self, accounts: list[AccountRecord], transactions: list[tuple[str, dict[str, Any]]]
    ) -> None:
        self.append_with_state(accounts, transactions, [])

    def append_with_state(
        self,
        accounts: list[AccountRecord],
        transactions: list[tuple[str, dict[str, Any]]],
        state: list[StateRow],
    ) -> None:
        with self.engine.begin() as conn:
            self._append(conn, accounts, transactions)
            _write_state(conn, state)

    def _append(
        self,
        conn: Connection,
        accounts: list[AccountRecord],
        transactions: list[tuple[str, dict[str, Any]]],
    ) -> None:
        if accounts:
            conn.execute(
                insert(VenueAccountRow),
                [
                    {
                        "id": a.id,
                        "currency": a.currency,
                        "hedging": a.hedging,
                        "alias": a.alias,
                        "created_time": a.created_time,
                    }
                    for a in accounts
                ],
            )
        if transactions:
            conn.execute(
                insert(VenueTransactionRow),
                [
                    {
                        "account_id": account_id,
                        "id": int(tx["id"]),
                        "type": tx["type"],
                        "time": us_to_datetime(parse_time(tx["time"]) // 1000),
                        "body": tx,
                    }
                    for account_id, tx in transactions
                ],
            )


def _write_state(conn: Connection, state: list[StateRow]) -> None:
    """Replace each (account, order, key)'s value: the last of ``state`` wins."""
    last = {(a, int(o), k): v for a, o, k, v in state}
    for account_id, order_id, key in last:
        conn.execute(
            delete(VenueOrderStateRow).where(
                VenueOrderStateRow.account_id == account_id,
                VenueOrderStateRow.order_id == order_id,
                VenueOrderStateRow.key == key,
            )
        )
    if last:
        conn.execute(
            insert(VenueOrderStateRow),
            [
                {"account_id": a, "order_id": o, "key": k, "value": v}
                for (a, o, k), v in last.items()
            ],
        )
