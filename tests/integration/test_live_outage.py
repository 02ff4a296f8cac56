"""The live trader when the broker goes away, when orders are slow, and after a crash mid-send
(issue 11, defects 3, 4 and 8), on SQLite and Postgres, against the paper venue on loopback
with the real oandapyV20 client.

- The venue killed with -9 mid-run: the trader does not crash; ``/health`` and
  ``tradewind live status`` say ``degraded: broker unreachable since …``; no order goes out;
  the venue restarted, the trader reconciles and trades on with clean books. Unreachable
  longer than ``max_outage_s``, it stops by itself with that reason.
- 2.5 s of order latency with a reconcile every second: no false halt.
- A restart with an order the dead process had marked SUBMITTED but never got to the broker:
  waited for within its grace, then closed as never placed; no halt.
- An order call in flight never holds back the ticks (the order worker sends it).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import requests
from live_support import (
    live_config,
    market,
    step,
    trader_in_thread,
    venue_process,
)
from sqlalchemy import Engine
from ulid import ULID
from venue_support import ACCOUNT, EUR

from tradewind.domain.orders import OrderRecord, OrderState
from tradewind.pipelines.live import live_status
from tradewind.risk import KillState
from tradewind.storage.oms import SqlOmsStore
from tradewind.storage.risk import risk_events

ORDERS = "/v3/accounts/*/orders"


def wait_for(what: str, ok: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def books_agree(t, m) -> None:
    report = t.built.oms.reconcile()
    assert report.clean, report.summary()
    assert t.built.oms.position(EUR) == m.position()


def no_duplicates(m) -> None:
    ids = Counter(t["clientExtensions"]["id"] for t in m.order_creates())
    assert not ids or max(ids.values()) == 1, ids


def kill_transitions(engine: Engine) -> list[dict]:
    return [e for e in risk_events(engine, ACCOUNT) if e["check"] == "kill_transition"]


def test_venue_killed_mid_run_degrades_then_recovers(
    tmp_path: Path, db_engine: Engine, new_db_url
) -> None:
    engine = db_engine
    cfg = live_config(tmp_path, decision="flip", max_outage_s=120)
    with venue_process(new_db_url("venue")) as m, trader_in_thread(engine, cfg, m) as t:
        step(m, t.seen_us, t.idle, minutes=3)
        sent_before = t.desk.counts["intents"]
        assert sent_before >= 1
        m.kill()
        health = t.built.trader.health_url
        wait_for(
            "/health to say the broker is unreachable",
            lambda: "broker unreachable since" in " ".join(_health(health)["problems"]),
        )
        body = _health(health)
        assert body["status"] == "degraded"
        assert body["broker_unreachable_since"]
        assert requests.get(health, timeout=5).status_code == 503
        wait_for(
            "live status to say degraded",
            lambda: live_status(engine)["deployments"][0]["status"] == "degraded",
        )
        row = live_status(engine)["deployments"][0]
        assert row["detail"].startswith("degraded: broker unreachable since"), row
        assert t.thread.is_alive(), "the trader died with the venue"
        assert not t.desk.trading  # no new orders while the broker is away
        m.start()  # the venue comes back where it stood
        wait_for("trading to resume", lambda: t.desk.trading, timeout=30)
        step(m, t.seen_us, t.idle, minutes=3)
        assert t.desk.counts["intents"] > sent_before  # it trades on
        books_agree(t, m)
        no_duplicates(m)
        assert _health(health)["status"] == "ok"
    assert live_status(engine)["deployments"][0]["status"] == "stopped"
    assert t.built.kill.state is KillState.ACTIVE
    # every fill at the venue is in the OMS's books, once
    fills = sorted(f.transaction_id for f in SqlOmsStore(engine).fills(ACCOUNT))
    with venue_process(m.db_url) as again:
        assert fills == sorted(int(x["id"]) for x in again.fills())


def test_an_outage_longer_than_the_limit_stops_the_trader(
    tmp_path: Path, db_engine: Engine, new_db_url
) -> None:
    engine = db_engine
    cfg = live_config(tmp_path, max_outage_s=2.0)
    with venue_process(new_db_url("venue")) as m, trader_in_thread(engine, cfg, m) as t:
        step(m, t.seen_us, t.idle, minutes=2)
        m.kill()
        t.thread.join(timeout=40)
        assert not t.thread.is_alive(), "the trader did not stop after the outage limit"
    row = live_status(engine)["deployments"][0]
    assert row["status"] == "failed", row
    assert row["detail"].startswith("broker unreachable for"), row
    assert "limit 2 s" in row["detail"]


def test_slow_orders_and_a_periodic_reconcile_never_halt(tmp_path: Path, db_engine: Engine) -> None:
    """Defect 4: a reconcile every second while each order takes 2.5 s to answer."""
    engine = db_engine
    latency = [{"kind": "latency", "ms": 2500, "method": "POST", "path": ORDERS}]
    with (
        market() as m,
        trader_in_thread(
            engine, live_config(tmp_path, decision="flip"), m, latency, {"read_timeout": 6.0}
        ) as t,
    ):
        step(m, t.seen_us, t.idle, minutes=1)  # the first bar: no return yet
        deferred = 0
        for _ in range(3):
            sent = t.desk.counts["intents"]
            m.advance(60.0)  # closes a bar: the flip sends an order that takes 2.5 s
            wait_for("an order", lambda n=sent: t.desk.counts["intents"] > n, timeout=20)
            while t.built.oms.in_flight():  # reconciles run meanwhile (every second)
                deferred += "deferred" in t.built.trader.status.reconcile
                time.sleep(0.05)
            wait_for("the order to settle", t.idle, timeout=20)
        assert deferred, "no reconcile ran while an order was in flight"
        assert t.built.kill.state is KillState.ACTIVE, t.built.kill.record
        assert t.desk.trading, t.desk.halt_reason
        assert t.desk.counts["intents"] >= 3
        books_agree(t, m)
        no_duplicates(m)
    assert kill_transitions(engine) == []


def test_a_restart_after_a_crash_mid_send_waits_instead_of_halting(
    tmp_path: Path, db_engine: Engine
) -> None:
    """Defect 4: the order a dead process marked SUBMITTED never reached the broker. The
    restarted trader waits for it (its grace), closes it as never placed, and never halts."""
    engine = db_engine
    store = SqlOmsStore(engine)
    now = time.time_ns() // 1000
    lost = OrderRecord(
        client_id=str(ULID()),
        account_id=ACCOUNT,
        instrument=EUR,
        units=1000.0,
        type="MARKET",
        state=OrderState.SUBMITTED,
        created_us=now,
        updated_us=now,
        deployment="momentum-eur",
    )
    cfg = live_config(tmp_path, order_grace_s=3.0)
    with market() as m:
        # the account as the dead process knew it
        store.set_last_transaction_id(ACCOUNT, m.broker.account_summary().last_transaction_id)
        store.insert_order(lost, {"submit": {"units": "1000"}})
        with trader_in_thread(engine, cfg, m) as t:
            assert t.built.trader.status.reconcile_clean, t.built.trader.status.reconcile
            assert "waiting for 1 order" in t.built.trader.status.reconcile
            wait_for(
                "the lost order to be closed as never placed",
                lambda: store.order(lost.client_id).state is OrderState.CANCELLED,  # type: ignore[union-attr]
                timeout=20,
            )
            step(m, t.seen_us, t.idle, minutes=3)
            assert t.built.kill.state is KillState.ACTIVE, t.built.kill.record
            books_agree(t, m)
    closed = store.order(lost.client_id)
    assert closed is not None
    assert "never placed" in (closed.reject_reason or "")
    assert kill_transitions(engine) == []


def test_ticks_keep_flowing_while_an_order_is_in_flight(tmp_path: Path, db_engine: Engine) -> None:
    """Defect 8: the order call is on the order worker's thread, never the price thread."""
    engine = db_engine
    slow = [{"kind": "latency", "ms": 4000, "method": "POST", "path": ORDERS}]
    with (
        market() as m,
        trader_in_thread(
            engine, live_config(tmp_path, decision="flip"), m, slow, {"read_timeout": 8.0}
        ) as t,
    ):
        step(m, t.seen_us, t.idle, minutes=1)
        m.advance(60.0)  # closes a bar: the flip sends an order that takes 4 s
        wait_for("an order in flight", lambda: bool(t.built.oms.in_flight()), timeout=20)
        for _ in range(3):  # meanwhile the market moves on and the desk keeps up
            m.advance(10.0)
            target = m.now_us()
            wait_for("the desk to handle the new ticks", lambda n=target: t.seen_us() >= n, 3.0)
            assert t.built.oms.in_flight(), "the order answered too soon for this test"
        wait_for("the order to settle", t.idle, timeout=20)
        books_agree(t, m)


def _health(url: str) -> dict:
    return requests.get(url, timeout=5).json()
