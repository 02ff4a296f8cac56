"""The venue's transactions in the database (tables ``venue_accounts`` and
``venue_transactions``, migration 0003): the engine's ``TransactionStore``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, select

from tradewind.storage.schema import VenueAccountRow, VenueTransactionRow
from tradewind.storage.types import us_to_datetime
from tradewind.venue.engine.store import AccountRecord
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

    def append(
        self, accounts: list[AccountRecord], transactions: list[tuple[str, dict[str, Any]]]
    ) -> None:
        with self.engine.begin() as conn:
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
