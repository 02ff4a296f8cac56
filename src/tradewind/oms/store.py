"""The store port of the OMS (``tradewind.storage.oms.SqlOmsStore`` implements it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from tradewind.domain.broker import BrokerEvent
from tradewind.domain.orders import FillRecord, OrderRecord, PositionRecord

Json = dict[str, Any]


class OmsStore(Protocol):
    """Durable OMS state. Every call is one database transaction, durable on return."""

    def insert_order(self, order: OrderRecord, command: Json) -> None: ...

    def update_order(
        self, order: OrderRecord, kind: str | None = None, body: Json | None = None
    ) -> None: ...

    def order(self, client_id: str) -> OrderRecord | None: ...

    def orders(
        self, account_id: str, *, open_only: bool = False, limit: int | None = None
    ) -> list[OrderRecord]: ...

    def record_transaction(
        self,
        account_id: str,
        event: BrokerEvent,
        *,
        fill: FillRecord | None = None,
        position: PositionRecord | None = None,
        orders: Iterable[OrderRecord] = (),
        positions: Iterable[PositionRecord] = (),
        financing: Iterable[tuple[str, float]] = (),
    ) -> bool:
        """Apply a broker transaction once (by its ``transaction_id``, with its payload
        ``raw`` in the audit log): its fill, positions, orders and daily financing rows
        ((instrument, amount)); False when it was already recorded."""
        ...

    def transaction_recorded(self, account_id: str, transaction_id: int) -> bool:
        """Whether the transaction's audit row (and so its effects) is stored."""
        ...

    def audit(
        self,
        account_id: str,
        kind: str,
        body: Json,
        *,
        client_id: str | None = None,
        deployment: str = "",
    ) -> None: ...

    def put_positions(self, positions: Iterable[PositionRecord], event: Json) -> None: ...

    def positions(self, account_id: str) -> dict[str, PositionRecord]: ...

    def last_transaction_id(self, account_id: str) -> int | None: ...

    def set_last_transaction_id(self, account_id: str, last_id: int) -> None: ...

    def set_reconciled(self, account_id: str, status: str, detail: str, report: Json) -> None: ...
