"""Where the engine keeps its transactions: the port, and an in-memory store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol


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


class MemoryStore:
    def __init__(self) -> None:
        self.accounts: list[AccountRecord] = []
        self.transactions: list[tuple[str, dict[str, Any]]] = []

    def load(self) -> tuple[list[AccountRecord], list[tuple[str, dict[str, Any]]]]:
        return list(self.accounts), list(self.transactions)

    def append(
        self, accounts: list[AccountRecord], transactions: list[tuple[str, dict[str, Any]]]
    ) -> None:
        self.accounts.extend(accounts)
        self.transactions.extend((a, json.loads(json.dumps(tx))) for a, tx in transactions)
