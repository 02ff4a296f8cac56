"""The OMS store on both backends: a broker transaction is applied exactly once with all its
effects (audit row, fill, position, order), and the order manager never moves its watermark
past a transaction that was not applied.

Issue 11's critical defect: on Postgres, INSERT ... ON CONFLICT DO NOTHING RETURNING reports
rowcount -1, so every new transaction was taken for a replay; its fill and position were never
written while the watermark moved on."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine

from tradewind.domain.broker import OrderFilled
from tradewind.domain.orders import FillRecord, OrderRecord, OrderState, PositionRecord
from tradewind.oms import OrderManager
from tradewind.oms.manager import OmsStoreError
from tradewind.storage.oms import SqlOmsStore

ACCOUNT = "101-001-0000001-001"
T0 = 1_704_196_800_000_000


def fill_tx(tid: int, units: float = 1000.0, price: float = 1.1) -> OrderFilled:
    raw = {  # the broker's payload, kept in the audit log
        "id": str(tid),
        "type": "ORDER_FILL",
        "time": "2024-01-02T12:00:00.000000000Z",
        "orderID": str(tid - 1),
        "instrument": "EUR_USD",
        "units": str(units),
        "price": str(price),
        "pl": "0.0000",
        "financing": "0.0000",
        "commission": "0.0000",
        "accountBalance": "100000.0000",
        "reason": "MARKET_ORDER",
    }
    return OrderFilled(
        transaction_id=tid,
        time_us=T0,
        reason="MARKET_ORDER",
        client_id=None,
        broker_order_id=str(tid - 1),
        instrument="EUR_USD",
        units=units,
        price=price,
        raw=raw,
    )


def test_a_new_transaction_is_applied_with_its_fill_and_position(db_engine: Engine) -> None:
    store = SqlOmsStore(db_engine)
    tx = fill_tx(7)
    fill = FillRecord(ACCOUNT, 7, "6", "EUR_USD", 1000.0, 1.1, 0.0, 0.0, 0.0, T0, "cid", "d1")
    position = PositionRecord(ACCOUNT, "EUR_USD", 1000.0, 1.1, 0.0, T0)
    assert store.record_transaction(ACCOUNT, tx, fill=fill, position=position) is True
    assert [f.transaction_id for f in store.fills(ACCOUNT)] == [7]
    assert store.positions(ACCOUNT)["EUR_USD"].units == 1000.0
    assert store.transaction_recorded(ACCOUNT, 7)
    (row,) = [r for r in store.audit_log(ACCOUNT) if r["transaction_id"] == 7]
    assert row["body"] == dict(tx.raw)  # the broker's own payload, for the audit
    # the replay changes nothing: no second fill, the position is not applied twice
    twice = PositionRecord(ACCOUNT, "EUR_USD", 2000.0, 1.1, 0.0, T0)
    assert store.record_transaction(ACCOUNT, tx, fill=fill, position=twice) is False
    assert len(store.fills(ACCOUNT)) == 1
    assert store.positions(ACCOUNT)["EUR_USD"].units == 1000.0


def test_the_order_manager_applies_each_fill_once(db_engine: Engine) -> None:
    store = SqlOmsStore(db_engine)
    store.set_last_transaction_id(ACCOUNT, 1)
    oms = OrderManager(_NoBroker(), store, ACCOUNT)  # type: ignore[arg-type]
    for tid, units in ((2, 1000.0), (3, -400.0), (2, 1000.0), (4, 100.0), (3, -400.0)):
        oms.apply_transaction(fill_tx(tid, units))
        oms.advance(tid)
    assert [f.units for f in store.fills(ACCOUNT)] == [1000.0, -400.0, 100.0]
    assert oms.position("EUR_USD") == pytest.approx(700.0)
    assert store.positions(ACCOUNT)["EUR_USD"].units == pytest.approx(700.0)
    assert store.last_transaction_id(ACCOUNT) == 4


class _LyingStore(SqlOmsStore):
    """Says every transaction was seen before, as the Postgres bug did."""

    def record_transaction(self, *args: Any, **kwargs: Any) -> bool:
        return False


def test_a_transaction_neither_applied_nor_recorded_stops_the_watermark(
    db_engine: Engine,
) -> None:
    store = _LyingStore(db_engine)
    store.set_last_transaction_id(ACCOUNT, 1)
    oms = OrderManager(_NoBroker(), store, ACCOUNT)  # type: ignore[arg-type]
    with pytest.raises(OmsStoreError, match=r"transaction 2 .* neither applied nor found"):
        oms.apply_transaction(fill_tx(2))
    assert store.last_transaction_id(ACCOUNT) == 1


def test_order_updates_ride_with_the_transaction(db_engine: Engine) -> None:
    store = SqlOmsStore(db_engine)
    order = OrderRecord(
        client_id="01HZZZZZZZZZZZZZZZZZZZZZZZ",
        account_id=ACCOUNT,
        instrument="EUR_USD",
        units=1000.0,
        type="MARKET",
        state=OrderState.SUBMITTED,
        created_us=T0,
        updated_us=T0,
    )
    store.insert_order(order, {"submit": {}})
    filled = replace(order, state=OrderState.FILLED, filled_units=1000.0)
    assert store.record_transaction(ACCOUNT, fill_tx(9), orders=[filled])
    stored = store.order(order.client_id)
    assert stored is not None
    assert stored.state is OrderState.FILLED


def test_an_event_without_a_payload_is_audited_by_its_fields(db_engine: Engine) -> None:
    store = SqlOmsStore(db_engine)
    bare = replace(fill_tx(11), raw={})
    assert store.record_transaction(ACCOUNT, bare)
    (row,) = [r for r in store.audit_log(ACCOUNT) if r["transaction_id"] == 11]
    assert row["body"]["event"] == "OrderFilled"
    assert row["body"]["units"] == 1000.0


class _NoBroker:
    """The manager is only fed transactions here; it never calls the broker."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the broker was called: {name}")
