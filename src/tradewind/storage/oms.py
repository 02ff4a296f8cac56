"""The OMS's database: orders, fills, positions, the append-only audit log (``SqlOmsStore``).

Every method is one database transaction. ``record_transaction`` is how a broker transaction
is applied exactly once: its audit row carries the transaction id under a unique index, and
the fill, position and order changes that come from it are written only when that row is new,
in the same transaction. A replayed transaction (from a backfill, a resolved order or a
restart) changes nothing.

The statements of the order path (insert and update an order, its audit rows, a transaction's
fill, position and financing rows, the reads by key) are built once, at import, with bound
parameters, and executed with a dict of values: SQLAlchemy then finds their compiled form in
its cache without building and hashing a new statement per call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tradewind.domain.broker import BrokerEvent
from tradewind.domain.orders import OPEN, FillRecord, OrderRecord, OrderState, PositionRecord
from tradewind.storage.schema_live import (
    OmsAccountRow,
    OmsAuditRow,
    OmsFillRow,
    OmsFinancingRow,
    OmsOrderRow,
    OmsPositionRow,
    latest_rows,
)
from tradewind.storage.types import datetime_to_us, us_to_datetime

Json = dict[str, Any]
_ORDER_FIELDS = (
    "account_id",
    "deployment",
    "instrument",
    "units",
    "type",
    "price",
    "price_bound",
    "time_in_force",
    "stop_loss",
    "broker_order_id",
    "filled_units",
    "avg_price",
    "algo",
    "reason",
    "reject_reason",
)


_AUDIT = cast(Table, OmsAuditRow.__table__)
_ORDERS = cast(Table, OmsOrderRow.__table__)
_POSITIONS = cast(Table, OmsPositionRow.__table__)
_INSERT_AUDIT = insert(_AUDIT)
_INSERT_ORDER = insert(_ORDERS)
_UPDATE_ORDER = update(_ORDERS).where(_ORDERS.c.client_id == bindparam("key_client_id"))
_SELECT_ORDER = select(OmsOrderRow).where(OmsOrderRow.client_id == bindparam("client_id"))
_INSERT_FILL = insert(cast(Table, OmsFillRow.__table__))
_INSERT_FINANCING = insert(cast(Table, OmsFinancingRow.__table__))
_UPDATE_POSITION = update(_POSITIONS).where(
    _POSITIONS.c.account_id == bindparam("key_account_id"),
    _POSITIONS.c.instrument == bindparam("key_instrument"),
)
_INSERT_POSITION = insert(_POSITIONS)
_TRANSACTION_RECORDED = select(OmsAuditRow.id).where(
    OmsAuditRow.account_id == bindparam("account_id"),
    OmsAuditRow.transaction_id == bindparam("transaction_id"),
)
# INSERT ... ON CONFLICT DO NOTHING RETURNING id into the audit log, per database (its outcome
# is read from RETURNING, never from rowcount)
_INSERT_TRANSACTION = {
    name: dialect.insert(_AUDIT).on_conflict_do_nothing().returning(_AUDIT.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _now() -> datetime:
    return datetime.now(UTC)


def _order_values(order: OrderRecord) -> dict[str, Any]:
    values = {f: getattr(order, f) for f in _ORDER_FIELDS}
    values["state"] = order.state.value
    values["updated_at"] = us_to_datetime(order.updated_us)
    return values


def _order(row: Any) -> OrderRecord:
    return OrderRecord(
        client_id=row.client_id,
        state=OrderState(row.state),
        created_us=datetime_to_us(row.created_at),
        updated_us=datetime_to_us(row.updated_at),
        **{f: getattr(row, f) for f in _ORDER_FIELDS},
    )


class SqlOmsStore:
    """The OMS store on SQLAlchemy (Postgres or SQLite, migrated to head)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- audit ---------------------------------------------------------------------------
    def _audit(
        self,
        conn: Connection,
        account_id: str,
        kind: str,
        body: Json,
        *,
        client_id: str | None = None,
        deployment: str = "",
    ) -> None:
        conn.execute(
            _INSERT_AUDIT,
            {
                "at": _now(),
                "account_id": account_id,
                "deployment": deployment,
                "kind": kind,
                "client_id": client_id,
                "body": body,
            },
        )

    def audit(
        self,
        account_id: str,
        kind: str,
        body: Json,
        *,
        client_id: str | None = None,
        deployment: str = "",
    ) -> None:
        with self.engine.begin() as conn:
            self._audit(conn, account_id, kind, body, client_id=client_id, deployment=deployment)

    def audit_log(self, account_id: str, limit: int = 1000) -> list[Json]:
        """The latest ``limit`` audit rows of an account, oldest first."""
        with self.engine.connect() as conn:
            rows = latest_rows(
                conn, OmsAuditRow, OmsAuditRow.account_id == account_id, OmsAuditRow.id, limit
            )
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "client_id": r.client_id,
                "transaction_id": r.transaction_id,
                "body": r.body,
            }
            for r in rows
        ]

    # --- orders --------------------------------------------------------------------------
    def insert_order(self, order: OrderRecord, command: Json) -> None:
        """A new order and the command that will send it, committed before it is sent."""
        with self.engine.begin() as conn:
            values = _order_values(order)
            values["client_id"] = order.client_id
            values["created_at"] = us_to_datetime(order.created_us)
            conn.execute(_INSERT_ORDER, values)
            self._audit(
                conn,
                order.account_id,
                "command",
                command,
                client_id=order.client_id,
                deployment=order.deployment,
            )

    def update_order(self, order: OrderRecord, kind: str | None = None, body: Json | None = None):
        """Store an order's new state, with the response or event that changed it."""
        with self.engine.begin() as conn:
            self._update(conn, order)
            if kind is not None:
                self._audit(
                    conn,
                    order.account_id,
                    kind,
                    body or {},
                    client_id=order.client_id,
                    deployment=order.deployment,
                )

    @staticmethod
    def _update(conn: Connection, order: OrderRecord) -> None:
        values = _order_values(order)
        values["key_client_id"] = order.client_id
        conn.execute(_UPDATE_ORDER, values)

    def order(self, client_id: str) -> OrderRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT_ORDER, {"client_id": client_id}).first()
        return _order(row) if row is not None else None

    def orders(
        self, account_id: str, *, open_only: bool = False, limit: int | None = None
    ) -> list[OrderRecord]:
        query = select(OmsOrderRow).where(OmsOrderRow.account_id == account_id)
        if open_only:
            query = query.where(OmsOrderRow.state.in_([s.value for s in OPEN]))
        query = query.order_by(OmsOrderRow.created_at.desc(), OmsOrderRow.client_id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_order(r) for r in reversed(conn.execute(query).all())]

    # --- transactions, fills, positions --------------------------------------------------
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
        """Apply one broker transaction once: False (and nothing written) when it was
        recorded before. The audit row keeps the broker's own payload (``event.raw``);
        ``financing`` is its (instrument, amount) rows for ``oms_financing``."""
        tid = event.transaction_id
        with self.engine.begin() as conn:
            audit: Json = {
                "at": _now(),
                "account_id": account_id,
                "deployment": fill.deployment if fill is not None else "",
                "kind": "transaction",
                "client_id": event.client_id,
                "transaction_id": tid,
                "body": _event_body(event),
            }
            # The row id comes back only when the row was inserted: both backends agree on
            # that, while rowcount does not (-1 on Postgres for INSERT ... RETURNING).
            if conn.execute(_INSERT_TRANSACTION[conn.dialect.name], audit).first() is None:
                return False
            if fill is not None:
                row = asdict(fill)
                row["at"] = us_to_datetime(row.pop("ts_us"))
                conn.execute(_INSERT_FILL, row)
            if position is not None:
                self._put_position(conn, position)
            for p in positions:
                self._put_position(conn, p)
            at = us_to_datetime(event.time_us or datetime_to_us(_now()))
            for instrument, amount in financing:
                conn.execute(
                    _INSERT_FINANCING,
                    {
                        "account_id": account_id,
                        "transaction_id": tid,
                        "instrument": instrument,
                        "amount": amount,
                        "at": at,
                    },
                )
            for order in orders:
                self._update(conn, order)
            return True

    def transaction_recorded(self, account_id: str, transaction_id: int) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                _TRANSACTION_RECORDED,
                {"account_id": account_id, "transaction_id": transaction_id},
            ).first()
        return found is not None

    @staticmethod
    def _put_position(conn: Connection, p: PositionRecord) -> None:
        values = {
            "units": p.units,
            "avg_price": p.avg_price,
            "realized_pl": p.realized_pl,
            "updated_at": us_to_datetime(p.updated_us),
        }
        key = {"key_account_id": p.account_id, "key_instrument": p.instrument}
        done = conn.execute(_UPDATE_POSITION, values | key)
        if done.rowcount == 0:
            values |= {"account_id": p.account_id, "instrument": p.instrument}
            conn.execute(_INSERT_POSITION, values)

    def put_positions(self, positions: Iterable[PositionRecord], event: Json) -> None:
        """Positions taken as they are (adopting a broker account's state), with the event."""
        positions = list(positions)
        with self.engine.begin() as conn:
            for p in positions:
                self._put_position(conn, p)
            if positions:
                self._audit(conn, positions[0].account_id, "event", event)

    def positions(self, account_id: str) -> dict[str, PositionRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(OmsPositionRow).where(OmsPositionRow.account_id == account_id)
            ).all()
        return {
            r.instrument: PositionRecord(
                r.account_id,
                r.instrument,
                r.units,
                r.avg_price,
                r.realized_pl,
                datetime_to_us(r.updated_at),
            )
            for r in rows
        }

    def fills(self, account_id: str, limit: int = 1000) -> list[FillRecord]:
        with self.engine.connect() as conn:
            rows = latest_rows(
                conn,
                OmsFillRow,
                OmsFillRow.account_id == account_id,
                OmsFillRow.transaction_id,
                limit,
            )
        return [fill_record(r) for r in rows]

    def financing(self, account_id: str) -> list[tuple[int, str, float, int]]:
        """The daily financing recorded: (transaction id, instrument, amount, time µs)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(OmsFinancingRow)
                .where(OmsFinancingRow.account_id == account_id)
                .order_by(OmsFinancingRow.transaction_id, OmsFinancingRow.instrument)
            ).all()
        return [(r.transaction_id, r.instrument, r.amount, datetime_to_us(r.at)) for r in rows]

    # --- account watermark ---------------------------------------------------------------
    def last_transaction_id(self, account_id: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(OmsAccountRow.last_transaction_id).where(
                    OmsAccountRow.account_id == account_id
                )
            ).scalar()

    def set_last_transaction_id(self, account_id: str, last_id: int) -> None:
        """Move the watermark forward (never back)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(OmsAccountRow)
                .where(
                    OmsAccountRow.account_id == account_id,
                    OmsAccountRow.last_transaction_id < last_id,
                )
                .values(last_transaction_id=last_id)
            )
            if done.rowcount == 0 and self._account_missing(conn, account_id):
                conn.execute(
                    insert(OmsAccountRow).values(account_id=account_id, last_transaction_id=last_id)
                )

    @staticmethod
    def _account_missing(conn: Connection, account_id: str) -> bool:
        return (
            conn.execute(
                select(OmsAccountRow.account_id).where(OmsAccountRow.account_id == account_id)
            ).first()
            is None
        )

    def set_reconciled(self, account_id: str, status: str, detail: str, report: Json) -> None:
        with self.engine.begin() as conn:
            if self._account_missing(conn, account_id):
                conn.execute(
                    insert(OmsAccountRow).values(account_id=account_id, last_transaction_id=0)
                )
            conn.execute(
                update(OmsAccountRow)
                .where(OmsAccountRow.account_id == account_id)
                .values(reconciled_at=_now(), reconcile_status=status, reconcile_detail=detail)
            )
            self._audit(conn, account_id, "event", {"reconcile": report})

    def reconcile_status(self, account_id: str) -> tuple[str, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(OmsAccountRow.reconcile_status, OmsAccountRow.reconcile_detail).where(
                    OmsAccountRow.account_id == account_id
                )
            ).first()
        return (row[0], row[1]) if row is not None else None


def _event_body(event: BrokerEvent) -> Json:
    """The audit body of a transaction: the broker's payload, or (an event made without one)
    the event's own fields."""
    if event.raw:
        return dict(event.raw)
    fields = {k: v for k, v in asdict(event).items() if k != "raw"}
    return {"event": type(event).__name__, **fields}


def fill_record(r: Any) -> FillRecord:
    """An ``oms_fills`` row as the OMS's ``FillRecord``."""
    return FillRecord(
        r.account_id,
        r.transaction_id,
        r.order_id,
        r.instrument,
        r.units,
        r.price,
        r.pl,
        r.financing,
        r.commission,
        datetime_to_us(r.at),
        r.client_id,
        r.deployment,
    )
