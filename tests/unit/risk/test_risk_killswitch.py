"""The kill switch: latched and persisted before trip returns, escalation only, survives a
restart, lowered only by a named person; NAV, streak and reconcile triggers."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from risk_support import NOW, MemoryKillStore, limits

from tradewind.risk import KillRecord, KillState, KillSwitch

DAY_US = 86_400_000_000
SCOPE = "acct-1"


def switch(store: MemoryKillStore | None = None, **overrides: object) -> KillSwitch:
    return KillSwitch(store or MemoryKillStore(), SCOPE, limits(**overrides))


def test_a_new_scope_starts_active_and_writes_nothing() -> None:
    store = MemoryKillStore()
    ks = switch(store)
    assert ks.state is KillState.ACTIVE
    assert ks.record == KillRecord(SCOPE, KillState.ACTIVE, "", 0, "system")
    assert store.saves == 0


def test_trip_is_saved_before_it_returns() -> None:
    store = MemoryKillStore()
    ks = switch(store)
    assert ks.trip(KillState.REDUCING, "operator says so", NOW, by="alice")
    assert store.records[SCOPE] == KillRecord(
        SCOPE, KillState.REDUCING, "operator says so", NOW, "alice"
    )
    assert ks.record == store.records[SCOPE]


def test_trip_only_escalates() -> None:
    store = MemoryKillStore()
    ks = switch(store)
    assert ks.trip(KillState.HALTED, "first", NOW)
    assert not ks.trip(KillState.REDUCING, "lower", NOW + 1)
    assert not ks.trip(KillState.HALTED, "again", NOW + 2)
    assert (ks.state, ks.record.reason, store.saves) == (KillState.HALTED, "first", 1)
    with pytest.raises(ValueError, match="trip only escalates; use reset"):
        ks.trip(KillState.ACTIVE, "lower", NOW)


@given(st.lists(st.sampled_from([KillState.REDUCING, KillState.HALTED]), max_size=8))
def test_no_sequence_of_trips_lowers_the_state(trips: list[KillState]) -> None:
    ks = switch()
    seen = [ks.state.rank]
    for i, state in enumerate(trips):
        ks.trip(state, f"trip {i}", NOW + i)
        seen.append(ks.state.rank)
    assert seen == sorted(seen)
    assert ks.state.rank == max([0] + [s.rank for s in trips])


def test_the_state_survives_a_restart() -> None:
    store = MemoryKillStore()
    switch(store).trip(KillState.HALTED, "5 rejects in a row", NOW)
    again = switch(store)  # a new process on the same store
    assert again.state is KillState.HALTED
    assert again.record.reason == "5 rejects in a row"
    # a new day and healthy NAVs do not un-trip it either
    again.on_nav(100_000, NOW + 3 * DAY_US)
    again.on_accept()
    assert again.state is KillState.HALTED


def test_a_failed_save_still_trips_in_memory() -> None:
    store = MemoryKillStore()
    ks = switch(store)
    store.fail = True
    with pytest.raises(OSError, match="disk full"):
        ks.trip(KillState.HALTED, "reconcile failed", NOW)
    assert ks.state is KillState.HALTED


@pytest.mark.parametrize("by", ["system", "SYSTEM", "", "   "])
def test_reset_needs_a_person(by: str) -> None:
    store = MemoryKillStore()
    ks = switch(store)
    ks.trip(KillState.HALTED, "drawdown", NOW)
    with pytest.raises(ValueError, match="kill switch reset needs a person: `by` must name who"):
        ks.reset(by, "all good", NOW + 1)
    assert ks.state is KillState.HALTED
    assert store.records[SCOPE].state is KillState.HALTED


def test_reset_by_a_person_is_persisted() -> None:
    store = MemoryKillStore()
    ks = switch(store)
    ks.trip(KillState.HALTED, "drawdown", NOW)
    ks.reset(" alice ", "checked the books", NOW + 5)
    expected = KillRecord(SCOPE, KillState.ACTIVE, "checked the books", NOW + 5, "alice")
    assert ks.record == expected
    assert store.records[SCOPE] == expected
    assert switch(store).state is KillState.ACTIVE


def test_trips_and_resets_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tradewind.risk"):
        ks = switch()
        ks.trip(KillState.HALTED, "boom", NOW)
        ks.reset("alice", "ok", NOW)
    assert [r.message for r in caplog.records] == [
        "kill switch acct-1 -> halted by system: boom",
        "kill switch acct-1 reset from halted by alice: ok",
    ]


# NAV


def test_peak_and_day_start_are_tracked_and_persisted() -> None:
    store = MemoryKillStore()
    ks = switch(store)
    ks.on_nav(100_000, NOW)
    ks.on_nav(103_000, NOW + 1)
    ks.on_nav(101_000, NOW + 2)
    rec = store.records[SCOPE]
    assert (rec.peak_nav, rec.day, rec.day_start_nav) == (103_000, "2023-11-14", 100_000)
    saves = store.saves
    ks.on_nav(102_000, NOW + 3)  # nothing new to keep: no write
    assert store.saves == saves
    ks.on_nav(102_500, NOW + DAY_US)  # the next UTC day starts from its first NAV
    rec = store.records[SCOPE]
    assert (rec.peak_nav, rec.day, rec.day_start_nav) == (103_000, "2023-11-15", 102_500)
    assert ks.state is KillState.ACTIVE


def test_drawdown_halts() -> None:
    ks = switch(max_drawdown=0.2)
    ks.on_nav(100_000, NOW)
    ks.on_nav(80_001, NOW + 1)
    assert ks.state is KillState.ACTIVE
    ks.on_nav(80_000, NOW + 2)
    assert ks.state is KillState.HALTED
    assert ks.record.reason == (
        "drawdown 20.00% from peak NAV 100000.00 (NAV 80000.00); limit 20.00%"
    )


def test_daily_loss_reduces() -> None:
    ks = switch(max_daily_loss=1000, max_drawdown=None)
    ks.on_nav(100_000, NOW)
    ks.on_nav(99_001, NOW + 1)
    assert ks.state is KillState.ACTIVE
    ks.on_nav(99_000, NOW + 2)
    assert ks.state is KillState.REDUCING
    assert ks.record.reason == (
        "daily loss 1000.00 from the day's first NAV 100000.00 (NAV 99000.00); limit 1000.00"
    )
    ks.on_nav(99_000, NOW + DAY_US)  # a new day does not un-trip
    assert ks.state is KillState.REDUCING


def test_drawdown_wins_over_daily_loss() -> None:
    ks = switch(max_daily_loss=1000, max_drawdown=0.1)
    ks.on_nav(100_000, NOW)
    ks.on_nav(85_000, NOW + 1)
    assert ks.state is KillState.HALTED
    assert ks.record.reason.startswith("drawdown 15.00%")


def test_the_marks_survive_a_restart() -> None:
    store = MemoryKillStore()
    switch(store, max_daily_loss=1000).on_nav(100_000, NOW)
    ks = switch(store, max_daily_loss=1000)  # restart: the day started at 100 000
    ks.on_nav(99_500, NOW + 1)
    assert ks.state is KillState.ACTIVE
    ks.on_nav(98_900, NOW + 2)
    assert ks.state is KillState.REDUCING
    ks = switch(store)  # and the peak too
    ks.on_nav(79_000, NOW + 3)
    assert ks.state is KillState.HALTED


def test_reset_rebases_the_marks_so_trading_can_resume() -> None:
    ks = switch(max_drawdown=0.2)
    ks.on_nav(100_000, NOW)
    ks.on_nav(79_000, NOW + 1)
    ks.reset("alice", "loss accepted", NOW + 2)
    assert (ks.record.peak_nav, ks.record.day_start_nav) == (None, None)
    ks.on_nav(79_000, NOW + 3)
    assert ks.state is KillState.ACTIVE
    assert ks.record.peak_nav == 79_000
    ks.on_nav(63_000, NOW + 4)  # 20.25 % below the new peak
    assert ks.state is KillState.HALTED


def test_a_nan_nav_is_ignored() -> None:
    store = MemoryKillStore()
    ks = switch(store)
    ks.on_nav(float("nan"), NOW)
    assert store.saves == 0
    assert ks.state is KillState.ACTIVE


# streaks and reconcile


def test_reject_streak_halts_and_an_accept_ends_it() -> None:
    ks = switch(max_reject_streak=3)
    ks.on_reject(NOW, "INSUFFICIENT_MARGIN")
    ks.on_reject(NOW, "INSUFFICIENT_MARGIN")
    ks.on_accept()
    ks.on_reject(NOW, "INSUFFICIENT_MARGIN")
    ks.on_reject(NOW, "INSUFFICIENT_MARGIN")
    assert ks.state is KillState.ACTIVE
    ks.on_reject(NOW + 9, "MARKET_HALTED")
    assert ks.state is KillState.HALTED
    assert ks.record.reason == "3 rejects in a row; limit 3; last: MARKET_HALTED"
    assert ks.record.changed_at_us == NOW + 9


def test_error_streak_halts_and_counts_apart_from_rejects() -> None:
    ks = switch(max_error_streak=2, max_reject_streak=2)
    ks.on_error(NOW, "timeout")
    ks.on_reject(NOW, "MARKET_HALTED")
    assert ks.state is KillState.ACTIVE
    ks.on_error(NOW, "connection reset")
    assert ks.state is KillState.HALTED
    assert ks.record.reason == "2 errors in a row; limit 2; last: connection reset"


def test_reset_restarts_the_streaks() -> None:
    ks = switch(max_reject_streak=2)
    ks.trip(KillState.REDUCING, "operator", NOW)
    ks.on_reject(NOW, "x")
    ks.reset("alice", "ok", NOW)
    ks.on_reject(NOW, "x")
    assert ks.state is KillState.ACTIVE


def test_reconcile_failure_halts() -> None:
    store = MemoryKillStore()
    ks = switch(store)
    ks.on_reconcile_failed("EUR_USD: ours 1000, broker 0", NOW)
    assert store.records[SCOPE].state is KillState.HALTED
    assert ks.record.reason == "reconcile failed: EUR_USD: ours 1000, broker 0"


# another process on the same scope (the `tradewind live` CLI while a trader runs)


def test_a_halt_from_another_process_is_never_saved_over() -> None:
    store = MemoryKillStore()
    ours, cli = switch(store), KillSwitch(store, SCOPE, None)
    ours.on_nav(100_000, NOW)
    cli.trip(KillState.HALTED, "operator halt", NOW + 1, by="bob")
    ours.on_nav(101_000, NOW + 2)  # a new peak: ours writes, but over the halt's record
    assert store.records[SCOPE].state is KillState.HALTED
    assert store.records[SCOPE].peak_nav == 101_000
    assert ours.state is KillState.HALTED
    # a lower trip of ours does not lower it either
    cli2 = KillSwitch(store, SCOPE, None)
    assert not ours.trip(KillState.REDUCING, "daily loss", NOW + 3)
    assert cli2.state is store.records[SCOPE].state is KillState.HALTED


def test_a_reset_from_another_process_is_adopted() -> None:
    store = MemoryKillStore()
    ours = switch(store, max_reject_streak=2)
    ours.on_nav(100_000, NOW)
    ours.on_nav(79_000, NOW + 1)
    assert ours.state is KillState.HALTED
    KillSwitch(store, SCOPE, None).reset("alice", "loss accepted", NOW + 2)
    assert ours.adopt(store.records[SCOPE])
    assert ours.record == KillRecord(SCOPE, KillState.ACTIVE, "loss accepted", NOW + 2, "alice")
    ours.on_nav(79_000, NOW + 3)  # the marks start again from here
    assert ours.state is KillState.ACTIVE
    assert not ours.refresh()  # nothing new
    ours.on_reject(NOW + 4, "x")
    ours.on_reject(NOW + 5, "x")
    assert ours.state is KillState.HALTED


def test_a_trip_rereads_the_store_first() -> None:
    store = MemoryKillStore()
    ours = switch(store)
    ours.trip(KillState.HALTED, "drawdown", NOW)
    KillSwitch(store, SCOPE, None).reset("alice", "ok", NOW + 1)
    # ours has not refreshed: the trip sees the reset and so really changes the state
    assert ours.trip(KillState.HALTED, "reconcile failed: x", NOW + 2)
    assert store.records[SCOPE].reason == "reconcile failed: x"


def test_a_lower_state_not_made_by_a_person_is_refused() -> None:
    store = MemoryKillStore()
    ours = switch(store)
    ours.trip(KillState.HALTED, "drawdown", NOW)
    store.records[SCOPE] = KillRecord(SCOPE, KillState.ACTIVE, "?", NOW + 1, "system")
    assert not ours.refresh()
    assert ours.state is KillState.HALTED
    assert store.records[SCOPE].state is KillState.HALTED  # written back


def test_a_failed_save_is_written_again_on_the_next_refresh() -> None:
    store = MemoryKillStore()
    ours = switch(store)
    store.fail = True
    with pytest.raises(OSError, match="disk full"):
        ours.trip(KillState.HALTED, "errors", NOW)
    store.fail = False
    assert not ours.refresh()
    assert store.records[SCOPE].state is KillState.HALTED


def test_an_unreadable_store_does_not_stop_a_trip() -> None:
    store = MemoryKillStore()
    ours = switch(store)

    def broken(scope: str) -> KillRecord | None:
        raise OSError("database gone")

    store.load = broken  # type: ignore[method-assign]
    assert ours.trip(KillState.HALTED, "errors", NOW)
    assert store.records[SCOPE].state is KillState.HALTED


def test_adopt_refuses_another_scope() -> None:
    with pytest.raises(ValueError, match="kill record of acct-2 offered to acct-1"):
        switch().adopt(KillRecord("acct-2", KillState.HALTED, "", NOW, "bob"))


def test_without_limits_only_people_move_it() -> None:
    store = MemoryKillStore()
    cli = KillSwitch(store, SCOPE, None)
    for _ in range(50):
        cli.on_reject(NOW, "x")
        cli.on_error(NOW, "x")
    cli.on_nav(100_000, NOW)
    cli.on_nav(1, NOW + 1)
    assert cli.state is KillState.ACTIVE
    assert cli.trip(KillState.HALTED, "maintenance", NOW, by="bob")
    cli.reset("bob", "done", NOW + 1)
    assert store.records[SCOPE].state is KillState.ACTIVE


# every change is a transition, appended with the record


WALL = 1_800_000_000_000_000


def test_every_trip_and_reset_is_a_transition_with_its_rule_limit_and_value() -> None:
    store = MemoryKillStore()
    ks = KillSwitch(
        store,
        SCOPE,
        limits(max_daily_loss=1000, max_drawdown=0.2, max_reject_streak=2),
        wall_us=lambda: WALL,
    )
    ks.on_nav(100_000, NOW)
    ks.on_nav(98_500, NOW + 1)  # daily loss 1500 -> reducing
    ks.on_nav(79_000, NOW + 2)  # drawdown 21 % -> halted
    ks.reset("alice", "loss accepted", NOW + 3)
    ks.on_reject(NOW + 4, "x")
    ks.on_reject(NOW + 5, "MARKET_HALTED")  # -> halted
    ks.reset("alice", "ok", NOW + 6)
    ks.on_reconcile_failed("EUR_USD: ours 1000, broker 0", NOW + 7)
    ks.trip(KillState.HALTED, "ignored: already halted", NOW + 8, by="bob")
    got = [
        (e.from_state.value, e.to_state.value, e.by, e.trigger, e.limit, e.value)
        for e in store.events
    ]
    assert got == [
        ("active", "reducing", "system", "max_daily_loss", 1000, 1500),
        ("reducing", "halted", "system", "max_drawdown", 0.2, pytest.approx(0.21)),
        ("halted", "active", "alice", "operator", None, None),
        ("active", "halted", "system", "max_reject_streak", 2, 2),
        ("halted", "active", "alice", "operator", None, None),
        ("active", "halted", "system", "reconcile", None, None),
    ]
    assert [e.market_time_us for e in store.events] == [NOW + t for t in (1, 2, 3, 5, 6, 7)]
    assert {e.at_us for e in store.events} == {WALL}
    assert store.events[0].reason.startswith("daily loss 1500.00")
    assert store.events[0].detail() == {
        "from": "active",
        "to": "reducing",
        "by": "system",
        "trigger": "max_daily_loss",
        "limit": 1000,
        "value": 1500,
        "market_time_us": NOW + 1,
    }


def test_an_operator_trip_is_a_transition_by_that_person() -> None:
    store = MemoryKillStore()
    KillSwitch(store, SCOPE, None).trip(KillState.HALTED, "maintenance", NOW, by="bob")
    (event,) = store.events
    assert (event.from_state, event.to_state, event.by, event.trigger) == (
        KillState.ACTIVE,
        KillState.HALTED,
        "bob",
        "operator",
    )


def test_a_transition_whose_save_failed_is_written_with_the_record_later() -> None:
    store = MemoryKillStore()
    ours = switch(store, max_error_streak=1)
    store.fail = True
    with pytest.raises(OSError, match="disk full"):
        ours.on_error(NOW, "timeout")
    assert store.events == []
    store.fail = False
    ours.refresh()
    assert store.records[SCOPE].state is KillState.HALTED
    assert [(e.to_state, e.trigger) for e in store.events] == [
        (KillState.HALTED, "max_error_streak")
    ]
    ours.refresh()  # written once
    assert len(store.events) == 1
