"""Daily financing reaches the OMS's books: the paper venue charges a held position at the
17:00 New York rollover (DAILY_FINANCING), the OMS adds it to that position's realised P&L
once (however often it is delivered), and its books then agree with the broker's ledger to
the cent, also after a restart over the same database (SQLite and Postgres)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from venue_support import ACCOUNT, EUR, admin, make_broker, running_venue

from tradewind.domain.broker import FinancingCharged
from tradewind.domain.orders import OrderIntent, OrderState
from tradewind.oms import OrderManager
from tradewind.storage.oms import SqlOmsStore
from tradewind.venue.costs import InstrumentCosts

COSTS = {
    EUR: InstrumentCosts(
        long_rate=Decimal("-0.05"), short_rate=Decimal("0.01"), commission=Decimal("0.5"),
        units_traded=Decimal(10_000),
    )
}  # fmt: skip


@pytest.fixture
def venue() -> Iterator[Any]:
    with running_venue(clock="stepped", costs=COSTS) as v:  # Tuesday 2024-01-02 12:00 UTC
        yield v


@pytest.fixture
def store(db_engine: sa.Engine) -> SqlOmsStore:
    return SqlOmsStore(db_engine)


def _oms(venue: Any, store: SqlOmsStore) -> OrderManager:
    oms = OrderManager(make_broker(venue.base_url), store, ACCOUNT)
    report = oms.reconcile()
    assert report.clean, report.summary()
    return oms


def _realised(oms: OrderManager) -> float:
    return sum(p.realized_pl for p in oms.positions().values())


def _broker_books(oms: OrderManager) -> float:
    ledger = oms.broker.ledger()  # type: ignore[attr-defined]  # the OANDA adapter's
    return float(ledger.realised + ledger.financing - ledger.commission)


def _streamed(oms: OrderManager, since: int, count: int) -> list[FinancingCharged]:
    """The first ``count`` charges the transaction stream replays after ``since``."""
    got: list[FinancingCharged] = []
    deadline = time.monotonic() + 15
    stream = oms.broker.transaction_stream(str(since), heartbeats=True)
    try:
        for event in stream:
            if isinstance(event, FinancingCharged):
                got.append(event)
            if len(got) == count or time.monotonic() > deadline:
                break
    finally:
        stream.close()  # type: ignore[attr-defined]
    return got


def test_financing_across_rollovers_matches_the_broker_once_and_after_restart(
    venue: Any, store: SqlOmsStore
) -> None:
    oms = _oms(venue, store)
    bought = oms.submit(OrderIntent(EUR, 20_000, deployment="d1"))
    assert bought.state == OrderState.FILLED
    before = oms.last_transaction_id
    assert before is not None
    admin(venue.base_url, {"advance": 2 * 86_400}, path="clock")  # two rollovers pass
    report = oms.reconcile()  # the backfill brings the DAILY_FINANCINGs
    assert report.clean, report.summary()
    page = oms.broker.transactions_since(str(before))
    daily = [e for e in page.transactions if isinstance(e, FinancingCharged)]
    assert len(daily) == 2
    charged = sum(amount for e in daily for _, amount in e.per_instrument)
    assert all(e.per_instrument[0][0] == EUR for e in daily)
    assert -7.0 < charged < -5.0  # a long pays 5% a year: about 3 a day on 20000
    rows = store.financing(ACCOUNT)
    assert [(r[0], r[1]) for r in rows] == [(e.transaction_id, EUR) for e in daily]
    assert sum(r[2] for r in rows) == pytest.approx(charged)
    fills = store.fills(ACCOUNT)
    held = oms.position_record(EUR)
    assert held is not None
    assert held.units == 20_000
    assert held.realized_pl == pytest.approx(sum(f.pl - f.commission for f in fills) + charged)
    assert _realised(oms) == pytest.approx(_broker_books(oms), abs=0.005)

    # the same DAILY_FINANCING delivered again by the transaction stream (as the live
    # trader applies it) after the backfill counts once
    assert [oms.apply_transaction(e) for e in _streamed(oms, before, 2)] == [False, False]
    assert [oms.apply_transaction(e) for e in daily] == [False, False]
    assert oms.position_record(EUR) == held
    assert len(store.financing(ACCOUNT)) == 2

    # close the position, let a rollover pass flat: nothing more is charged
    sold = oms.submit(OrderIntent(EUR, -20_000, deployment="d1"))
    assert sold.state == OrderState.FILLED
    admin(venue.base_url, {"advance": 86_400}, path="clock")
    assert oms.reconcile().clean
    assert len(store.financing(ACCOUNT)) == 2
    assert oms.position(EUR) == 0
    books = _broker_books(oms)
    assert _realised(oms) == pytest.approx(books, abs=0.005)

    # a restart over the same database: the same books, and a replay changes nothing
    restarted = OrderManager(make_broker(venue.base_url), store, ACCOUNT)
    assert restarted.positions() == oms.positions()
    assert restarted.reconcile().clean
    assert [restarted.apply_transaction(e) for e in daily] == [False, False]
    assert _realised(restarted) == pytest.approx(books, abs=0.005)
    assert store.positions(ACCOUNT)[EUR].realized_pl == pytest.approx(books, abs=0.005)


def test_financing_of_a_position_the_books_never_held_starts_one(
    venue: Any, store: SqlOmsStore
) -> None:
    """A charge on an instrument the OMS has no record of (e.g. adopted flat) still lands in
    its realised P&L, so the account's total agrees with the broker's."""
    oms = _oms(venue, store)
    event = FinancingCharged(
        transaction_id=(oms.last_transaction_id or 0) + 10_000,
        account_id=ACCOUNT,
        financing=-1.25,
        per_instrument=(("AUD_USD", -1.25),),
    )
    assert oms.apply_transaction(event)
    assert not oms.apply_transaction(event)
    pos = oms.position_record("AUD_USD")
    assert pos is not None
    assert (pos.units, pos.realized_pl) == (0.0, -1.25)
    assert SqlOmsStore(store.engine).positions(ACCOUNT)["AUD_USD"].realized_pl == -1.25
