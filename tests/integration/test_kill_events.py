"""Kill switch changes in the database: each one, by a rule or a person, is its own risk event,
written in the same transaction as the switch's row (on SQLite and Postgres)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from tradewind.config.risk import RiskLimits
from tradewind.pipelines.live import set_kill_switch
from tradewind.risk import KillRecord, KillState, KillSwitch, KillTransition
from tradewind.storage import migrate
from tradewind.storage.engine import make_engine
from tradewind.storage.risk import KILL_TRANSITION, SqlKillSwitchStore, risk_events

NOW = 1_700_000_000_000_000
WALL = 1_800_000_000_000_000
SCOPE = "acct-1"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


def kill_events(engine: Engine) -> list[dict[str, Any]]:
    return [e for e in risk_events(engine, SCOPE) if e["check"] == KILL_TRANSITION]


def test_two_automatic_trips_and_a_reset_leave_three_events_in_order(engine: Engine) -> None:
    limits = RiskLimits(
        max_order_units=10_000,
        max_position_units=10_000,
        max_total_notional=50_000,
        max_daily_loss=1000,
        max_drawdown=0.2,
    )
    ks = KillSwitch(SqlKillSwitchStore(engine), SCOPE, limits, wall_us=lambda: WALL)
    ks.on_nav(100_000, NOW)
    ks.on_nav(98_500, NOW + 1)  # daily loss -> reducing
    ks.on_nav(79_000, NOW + 2)  # drawdown -> halted: the row is overwritten, not the event
    ks.reset("alice", "loss accepted", NOW + 3)

    events = kill_events(engine)
    assert [(e["detail"]["from"], e["detail"]["to"]) for e in events] == [
        ("active", "reducing"),
        ("reducing", "halted"),
        ("halted", "active"),
    ]
    first = events[0]
    assert first["approved"] is False
    assert first["reason"] == (
        "daily loss 1500.00 from the day's first NAV 100000.00 (NAV 98500.00); limit 1000.00"
    )
    assert first["detail"] == {
        "from": "active",
        "to": "reducing",
        "by": "system",
        "trigger": "max_daily_loss",
        "limit": 1000,
        "value": 1500,
        "market_time_us": NOW + 1,
    }
    assert first["at"].startswith("2027-01-15T08:00:00")  # wall time, not market time
    assert events[1]["detail"]["trigger"] == "max_drawdown"
    assert events[1]["detail"]["value"] == pytest.approx(0.21)
    assert (events[2]["detail"]["by"], events[2]["detail"]["trigger"]) == ("alice", "operator")
    assert events[2]["approved"] is True
    rec = SqlKillSwitchStore(engine).load(SCOPE)
    assert rec is not None
    assert (rec.state, rec.changed_by) == (KillState.ACTIVE, "alice")


def test_the_cli_halt_and_resume_write_one_event_each(engine: Engine) -> None:
    set_kill_switch(engine, SCOPE, "halted", "maintenance", "bob")
    set_kill_switch(engine, SCOPE, "halted", "again", "bob")  # no change: no event
    set_kill_switch(engine, SCOPE, "active", "done", "bob")
    events = risk_events(engine, SCOPE)
    assert [(e["check"], e["reason"], e["detail"]["to"]) for e in events] == [
        (KILL_TRANSITION, "maintenance", "halted"),
        (KILL_TRANSITION, "done", "active"),
    ]
    assert {e["detail"]["by"] for e in events} == {"bob"}


def test_a_row_is_never_written_without_its_event(engine: Engine) -> None:
    store = SqlKillSwitchStore(engine)
    store.save(KillRecord(SCOPE, KillState.ACTIVE, "", NOW, "system"))
    halted = KillRecord(SCOPE, KillState.HALTED, "x", NOW + 1, "system")
    broken = KillTransition(
        SCOPE, KillState.ACTIVE, KillState.HALTED, "system", "reconcile", "x", NOW + 1, WALL,
        value=object(),  # type: ignore[arg-type]  # not JSON: the event's insert fails
    )  # fmt: skip
    with pytest.raises(Exception, match=r"JSON|serializ"):
        store.save(halted, [broken])
    loaded = store.load(SCOPE)
    assert loaded is not None
    assert loaded.state is KillState.ACTIVE
    assert kill_events(engine) == []
