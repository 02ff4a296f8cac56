"""Daily financing in the daily P&L pipeline: a day's rollover charge lands in that day's
``pnl_daily`` financing (shared among the instrument's holders by units), never in the next
day's, and a charge the OMS did not record is a mismatch (SQLite and Postgres)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from pnl_support import oms_for, set_clock
from venue_support import ACCOUNT, EUR, make_broker, running_venue

from tradewind.domain.broker import FinancingCharged
from tradewind.domain.fxday import fx_day
from tradewind.domain.orders import OrderIntent, OrderState
from tradewind.pipelines.pnl import reconcile_pnl_day
from tradewind.storage import pnl as store
from tradewind.storage.schema_live import OmsFinancingRow
from tradewind.venue.costs import InstrumentCosts

COSTS = {EUR: InstrumentCosts(long_rate=Decimal("-0.05"), short_rate=Decimal("0.01"))}
TUESDAY, WEDNESDAY = fx_day(date(2024, 1, 2)), fx_day(date(2024, 1, 3))


@pytest.fixture
def venue() -> Iterator[Any]:
    with running_venue(clock="stepped", walk_step_s=60, costs=COSTS) as v:  # Tue 12:00 UTC
        yield v


def _rows(engine: sa.Engine, day: str) -> dict[tuple[str, str], float]:
    return {
        (r["deployment"], r["instrument"]): r["financing"]
        for r in store.day_rows(engine, day, ACCOUNT)
    }


def test_daily_financing_is_in_its_days_rows_once(venue: Any, db_engine: sa.Engine) -> None:
    broker = make_broker(venue.base_url)
    oms = oms_for(broker, db_engine)
    assert oms.submit(OrderIntent(EUR, 20_000, deployment="d1")).state == OrderState.FILLED
    assert oms.submit(OrderIntent(EUR, 10_000)).state == OrderState.FILLED  # unattributed
    set_clock(venue.base_url, TUESDAY.end)  # Tuesday's rollover
    assert oms.reconcile().clean
    set_clock(venue.base_url, datetime(2024, 1, 3, 12, tzinfo=UTC))
    assert oms.reconcile().clean
    charges = [e for e in broker.transactions_between(0) if isinstance(e, FinancingCharged)]
    assert len(charges) == 1
    (tuesday,) = charges
    amount = tuesday.per_instrument[0][1]
    assert tuesday.per_instrument == ((EUR, amount),)
    assert amount < 0  # a long pays

    result = reconcile_pnl_day(db_engine, broker, TUESDAY)
    assert result.status == "clean", result.detail
    assert result.detail["financing"] == []
    got = _rows(db_engine, TUESDAY.label)
    assert got[("d1", EUR)] == pytest.approx(amount * 2 / 3)
    assert got[("", EUR)] == pytest.approx(amount / 3)
    assert got[("", "*")] == pytest.approx(amount)

    # Wednesday opens with Tuesday's charge in its window: it is not Wednesday's financing
    set_clock(venue.base_url, WEDNESDAY.end)
    assert oms.reconcile().clean
    both = [e for e in broker.transactions_between(0) if isinstance(e, FinancingCharged)]
    assert len(both) == 2
    wednesday = both[1].per_instrument[0][1]
    result = reconcile_pnl_day(db_engine, broker, WEDNESDAY)
    assert result.status == "clean", result.detail
    assert _rows(db_engine, WEDNESDAY.label)[("", "*")] == pytest.approx(wednesday)
    assert _rows(db_engine, TUESDAY.label)[("", "*")] == pytest.approx(amount)  # untouched

    # the OMS loses Tuesday's charge: the re-run says so, naming it
    with db_engine.begin() as conn:
        conn.execute(
            sa.delete(OmsFinancingRow).where(
                OmsFinancingRow.transaction_id == tuesday.transaction_id
            )
        )
    bad = reconcile_pnl_day(db_engine, broker, TUESDAY)
    assert bad.status == "mismatch"
    assert bad.detail["financing"] == [
        {"transaction_id": tuesday.transaction_id, "instrument": EUR, "broker": amount, "oms": None}
    ]
    assert f"daily financing {tuesday.transaction_id} of {EUR}" in bad.reason
