"""The daily P&L reconciliation against the paper venue on both backends: the day's rows
equal a hand computation from the fills, a re-run replaces them, a difference between the
broker and the OMS trips the account's kill switch with a reason naming it, a clean day
does not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from pnl_support import DAY, EUR, VENUE, assert_rows, expected_rows, oms_for, set_clock, trade_day
from venue_support import ACCOUNT, make_broker, running_venue

from tradewind.broker.ports import OrderRequest
from tradewind.domain.fxday import fx_day
from tradewind.domain.orders import OrderIntent
from tradewind.pipelines.pnl import reconcile_pnl_day
from tradewind.risk.killswitch import KillState
from tradewind.storage import pnl as store
from tradewind.storage.risk import SqlKillSwitchStore, risk_events
from tradewind.storage.schema_live import OmsFillRow
from tradewind.storage.schema_platform import PnlDailyRow


@pytest.fixture
def venue() -> Iterator[object]:
    with running_venue(**VENUE) as v:
        yield v


def kill_state(engine: sa.Engine) -> KillState:
    record = SqlKillSwitchStore(engine).load(ACCOUNT)
    return KillState.ACTIVE if record is None else record.state


def test_a_day_is_stored_as_computed_by_hand_and_a_rerun_replaces_it(venue, db_engine) -> None:
    broker = make_broker(venue.base_url)  # type: ignore[attr-defined]
    day = trade_day(venue.base_url, oms_for(broker, db_engine))  # type: ignore[attr-defined]
    want = expected_rows(day, broker)

    result = reconcile_pnl_day(db_engine, broker, DAY)
    assert result.status == "clean", result.detail
    assert result.detail["marks"] == {"source": "broker", "exact": True, "lag_s": 0.0}
    assert_rows(store.day_rows(db_engine, DAY.label, ACCOUNT), want)
    check = store.day_check(db_engine, DAY.label, ACCOUNT)
    assert check is not None
    assert check["status"] == "clean"
    assert kill_state(db_engine) is KillState.ACTIVE  # a clean day trips nothing

    again = reconcile_pnl_day(db_engine, broker, DAY)
    assert again.status == "clean"
    assert_rows(store.day_rows(db_engine, DAY.label, ACCOUNT), want)
    with db_engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(PnlDailyRow)).scalar() == 4

    # the OMS loses d1's sale: the broker's fill is missing from its books
    sale = day.eur_sell
    with db_engine.begin() as conn:
        tid = conn.execute(
            sa.select(OmsFillRow.transaction_id).where(OmsFillRow.order_id == sale.broker_order_id)
        ).scalar_one()
        conn.execute(sa.delete(OmsFillRow).where(OmsFillRow.transaction_id == tid))
    bad = reconcile_pnl_day(db_engine, broker, DAY)
    assert bad.status == "mismatch"
    assert [f["transaction_id"] for f in bad.detail["missing_in_oms"]] == [tid]
    assert bad.tripped
    assert f"broker fill {tid} (EUR_USD -400 @ {sale.avg_price}) is missing" in bad.reason
    record = SqlKillSwitchStore(db_engine).load(ACCOUNT)
    assert record is not None
    assert record.state is KillState.HALTED
    assert record.reason == bad.reason
    event = risk_events(db_engine, ACCOUNT)[-1]
    assert (event["check"], event["reason"]) == ("kill_transition", bad.reason)
    assert event["detail"]["trigger"] == "pnl_reconciliation"
    check = store.day_check(db_engine, DAY.label, ACCOUNT)
    assert check is not None
    assert check["status"] == "mismatch"
    assert check["detail"]["missing_in_oms"][0]["transaction_id"] == tid
    # realised P&L is still the broker's day (the sale stays d1's by its order); units per
    # deployment are the OMS's fills, so d1 now holds its 1,000 and '' the rest, -100
    rows = store.day_rows(db_engine, DAY.label, ACCOUNT)
    assert [r["realized_pl"] for r in rows] == pytest.approx([w["realized_pl"] for w in want])
    assert [r["units"] for r in rows] == [0.0, -100.0, 1000.0, 1000.0]


def test_a_late_run_replays_later_fills_and_catches_a_fill_the_oms_never_saw(
    venue, db_engine
) -> None:
    broker = make_broker(venue.base_url)  # type: ignore[attr-defined]
    oms = oms_for(broker, db_engine)
    day = fx_day(date(2024, 1, 2))  # the venue's clock starts at 12:00 UTC that day
    buy = oms.submit(OrderIntent(EUR, 1000, deployment="d1"))
    set_clock(venue.base_url, datetime(2024, 1, 2, 13, tzinfo=UTC))  # type: ignore[attr-defined]
    direct = broker.submit_order(OrderRequest(EUR, 500))  # the OMS never hears of it
    assert direct.fill is not None
    # the next FX day: d1 sells everything, so "now" both books differ from the day's end
    set_clock(venue.base_url, datetime(2024, 1, 2, 23, tzinfo=UTC))  # type: ignore[attr-defined]
    oms.submit(OrderIntent(EUR, -1000, deployment="d1"))

    result = reconcile_pnl_day(db_engine, broker, day)
    assert result.status == "mismatch"
    assert result.detail["missing_in_oms"] == [
        {
            "transaction_id": direct.fill.transaction_id,
            "instrument": EUR,
            "units": 500.0,
            "price": direct.fill.price,
            "pl": 0.0,
        }
    ]
    # at the day's end the broker held 1,500, the OMS (which missed the 500) 1,000
    assert result.detail["positions"] == [{"instrument": EUR, "broker": 1500.0, "oms": 1000.0}]
    assert result.detail["not_at_broker"] == []
    assert result.detail["different"] == []
    assert f"broker fill {direct.fill.transaction_id} " in result.reason
    assert "EUR_USD at the day's end: broker 1500 units, OMS 1000" in result.reason
    assert kill_state(db_engine) is KillState.HALTED
    # transactions since the end, no live_pnl snapshot: no mark, said so
    assert result.detail["marks"] == {"source": "none"}
    rows = store.day_rows(db_engine, day.label, ACCOUNT)
    assert [(r["deployment"], r["instrument"], r["units"], r["realized_pl"]) for r in rows] == [
        ("", "*", 0.0, 0.0),
        ("", EUR, 500.0, 0.0),  # the foreign fill: nobody's
        ("d1", EUR, 1000.0, 0.0),
    ]
    assert all(r["unrealized_pl"] is None and r["nav"] is None for r in rows)
    assert buy.avg_price


def test_a_day_that_has_not_ended_is_refused(venue, db_engine) -> None:
    broker = make_broker(venue.base_url)  # type: ignore[attr-defined]
    day = fx_day(date(2024, 1, 2))
    with pytest.raises(ValueError, match="not over yet"):
        reconcile_pnl_day(db_engine, broker, day, now_us=day.end_us - 1)


def test_write_day_deletes_rows_that_no_longer_apply(db_engine) -> None:
    def row(deployment: str, instrument: str, pl: float) -> dict[str, object]:
        return {
            "deployment": deployment,
            "instrument": instrument,
            "realized_pl": pl,
            "unrealized_pl": None,
            "financing": 0.0,
            "commission": 0.0,
            "units": 1.0,
            "nav": None,
        }

    check = {"status": "clean", "tolerance": 0.01, "detail": {}}
    store.write_day(db_engine, "2024-01-03", "a", [row("d1", EUR, 1.0), row("d2", EUR, 2.0)], check)
    store.write_day(db_engine, "2024-01-04", "a", [row("d1", EUR, 9.0)], check)
    store.write_day(db_engine, "2024-01-03", "a", [row("d1", EUR, 3.0)], check)
    assert [
        (r["deployment"], r["realized_pl"]) for r in store.day_rows(db_engine, "2024-01-03", "a")
    ] == [("d1", 3.0)]
    assert store.day_rows(db_engine, "2024-01-04", "a")[0]["realized_pl"] == 9.0
    store.write_day(db_engine, "2024-01-03", "a", [], check)
    assert store.day_rows(db_engine, "2024-01-03", "a") == []
