"""Where the engine keeps its transactions: the port, and an in-memory store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

# What an order tracks that its create transaction has no field for: (account id, order id,
# key, value), e.g. a trailing stop loss's ``trailingStopValue``. The last one written wins.
StateRow = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    currency: str
    hedging: bool
    alias: str
    created_time: str  # RFC3339


class TransactionStore(Protocol):
    """Transactions are the source of truth; ``append`` writes one request's worth (and any
    new accounts) atomically, ``load`` returns everything in id order per account."""

    def load(self) -> tuple[list[AccountRecord], list[tuple[str, dict[str, Any]]]]: ...

    def append(
        self, accounts: list[AccountRecord], transactions: list[tuple[str, dict[str, Any]]]
    ) -> None: ...


@runtime_checkable
class OrderStateStore(Protocol):
    """A store that also keeps order state: ``append_with_state`` writes the state rows in the
    same transaction as the unit's transactions (after them); ``load_state`` reads the last
    value of each (account, order, key). A store without it keeps that state in memory only."""

    def append_with_state(
        self,
        accounts: list[AccountRecord],
        transactions: list[tuple[str, dict[str, Any]]],
        state: list[StateRow],
    ) -> None: ...

    def load_state(self) -> list[StateRow]: ...


class MemoryStore:
    def __init__(self) -> None:
        self.accounts: list[AccountRecord] = []
        self.transactions: list[tuple[str, dict[str, Any]]] = []
        self.state: dict[tuple[str, str, str], str] = {}

    def load(self) -> tuple[list[AccountRecord], list[tuple[str, dict[str, Any]]]]:
        return list(self.accounts), list(self.transactions)

    def append(
        self, accounts: list[AccountRecord], transactions: list[tuple[str, dict[str, Any]]]
    ) -> None:
        self.accounts.extend(accounts)
        self.transactions.extend((a, json.loads(json.dumps(tx))) for a, tx in transactions)

    def append_with_state(
        self,
        accounts: list[AccountRecord],
        transactions: list[tuple[str, dict[str, Any]]],
        state: list[StateRow],
    ) -> None:
        self.append(accounts, transactions)
        self.state.update(((a, o, k), v) for a, o, k, v in state)

    def load_state(self) -> list[StateRow]:
        return [(a, o, k, v) for (a, o, k), v in self.state.items()]
