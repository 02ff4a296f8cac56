"""One trader per broker account (issue 11, defect 5): the account's lease in the database,
on SQLite and Postgres, with the real trader against the paper venue on loopback.

A second trader on the same account refuses to start, naming the holder; a lease whose
holder died on this host, or that expired, is taken over; a trader whose lease was taken
over stops trading; and ``tradewind live resync`` adopts the broker's books after a
reviewed mismatch, refusing while a trader holds the account and without a person's name.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from live_support import live_config, market, step, trader_in_thread
from sqlalchemy import Engine
from ulid import ULID
from venue_support import ACCOUNT, EUR, TOKEN, make_broker

from tradewind.broker.ports import OrderRequest
from tradewind.domain.lease import LeaseInfo
from tradewind.domain.orders import OrderRecord, OrderState, PositionRecord
from tradewind.live.lease import Lease, LeaseHeld, LeaseLost
from tradewind.oms import OrderManager
from tradewind.pipelines.live import LiveStartError, build_trader, load_live_config, set_kill_switch
from tradewind.risk import KillState
from tradewind.storage.lease import SqlLeaseStore
from tradewind.storage.oms import SqlOmsStore
from tradewind.storage.risk import SqlKillSwitchStore

TRADEWIND = Path(sys.executable).parent / "tradewind"
REPO = Path(__file__).resolve().parents[2]
HOST = socket.gethostname()
SINCE = r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(lease expires in \d+ s\)"


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    """A migrated database on each backend (``db_engine`` from tests/conftest.py)."""
    return db_engine


def now() -> datetime:
    return datetime.now(UTC)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def put_lease(engine: Engine, *, host: str, pid: int, expires_in_s: float) -> LeaseInfo:
    t = now()
    info = LeaseInfo(ACCOUNT, "f" * 36, host, pid, t, t, t + timedelta(seconds=expires_in_s))
    assert SqlLeaseStore(engine).insert(info)
    return info


# --------------------------------------------------------------------- (a) a second trader


def test_a_second_trader_on_the_account_refuses_until_the_first_stops(
    engine: Engine, tmp_path: Path
) -> None:
    config = live_config(tmp_path)
    cfg = load_live_config(config)
    with market() as m:
        with trader_in_thread(engine, config, m) as first:
            second_broker = make_broker(m.url, name="tw-second-trader")
            try:
                with pytest.raises(LiveStartError) as refused:
                    build_trader(engine, cfg, second_broker, clock_speed=0.0, health=False)
            finally:
                second_broker.close()
            line = str(refused.value)
            assert "\n" not in line
            assert re.fullmatch(
                rf"account {ACCOUNT} is already traded by host {re.escape(HOST)} "
                rf"pid {os.getpid()} {SINCE}",
                line,
            ), line
            # the refusal changed nothing: the first trader still holds the account and trades
            held = SqlLeaseStore(engine).get(ACCOUNT)
            assert held is not None
            assert held.holder == first.built.trader.lease.holder
            step(m, first.seen_us, first.idle, minutes=3)
            assert first.desk.trading
            assert first.built.oms.reconcile().clean
            first.stop()
        assert SqlLeaseStore(engine).get(ACCOUNT) is None  # released on the graceful stop
        with trader_in_thread(engine, config, m) as second:
            step(m, second.seen_us, second.idle, minutes=2)
            assert second.desk.trading
            assert second.built.oms.reconcile().clean
            assert SqlLeaseStore(engine).get(ACCOUNT).holder == second.built.trader.lease.holder


def test_live_run_refuses_with_one_line_naming_the_holder(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    with market() as m:
        held = Lease(SqlLeaseStore(engine), ACCOUNT).acquire()  # this (live) process holds it
        run = tradewind(
            tmp_path, db_url, "live", "run", "--config", cli_config(tmp_path, m.url),
            "--duration", "2",
        )  # fmt: skip
        held.release()
    assert run.returncode == 1, run.stdout
    assert run.stderr.count("\n") == 1, run.stderr
    assert re.search(
        rf"account {ACCOUNT} is already traded by host {re.escape(HOST)} pid {os.getpid()} "
        + SINCE,
        run.stderr,
    ), run.stderr
    assert "Traceback" not in run.stderr


# --------------------------------------------------------------------- (b) takeovers


def test_a_lease_of_a_dead_process_on_this_host_is_taken_over(engine: Engine) -> None:
    put_lease(engine, host=HOST, pid=dead_pid(), expires_in_s=3600)
    lease = Lease(SqlLeaseStore(engine), ACCOUNT).acquire()
    stored = SqlLeaseStore(engine).get(ACCOUNT)
    assert stored is not None
    assert (stored.holder, stored.host, stored.pid) == (lease.holder, HOST, os.getpid())
    lease.renew(force=True)
    lease.release()
    assert SqlLeaseStore(engine).get(ACCOUNT) is None


def test_an_expired_lease_is_taken_over(engine: Engine) -> None:
    put_lease(engine, host="elsewhere", pid=4242, expires_in_s=-1)
    lease = Lease(SqlLeaseStore(engine), ACCOUNT).acquire()
    assert SqlLeaseStore(engine).get(ACCOUNT).holder == lease.holder


def test_a_live_lease_is_not_taken_over(engine: Engine) -> None:
    # a valid lease on another host (its pid cannot be checked from here) or of a live
    # process on this host stands
    put_lease(engine, host="elsewhere", pid=dead_pid(), expires_in_s=20)
    with pytest.raises(LeaseHeld, match=r"host elsewhere pid \d+ since .* expires in (19|20) s"):
        Lease(SqlLeaseStore(engine), ACCOUNT).acquire()
    SqlLeaseStore(engine).release(ACCOUNT, "f" * 36)
    put_lease(engine, host=HOST, pid=os.getppid(), expires_in_s=20)
    with pytest.raises(LeaseHeld, match=f"pid {os.getppid()} "):
        Lease(SqlLeaseStore(engine), ACCOUNT).acquire()
    assert SqlLeaseStore(engine).get(ACCOUNT).holder == "f" * 36


def test_two_contenders_for_an_expired_lease_cannot_both_win(engine: Engine) -> None:
    old = put_lease(engine, host="elsewhere", pid=4242, expires_in_s=-1)
    store = SqlLeaseStore(engine)
    t = now()
    a = LeaseInfo(ACCOUNT, "a" * 36, "h", 1, t, t, t + timedelta(seconds=30))
    b = LeaseInfo(ACCOUNT, "b" * 36, "h", 2, t, t, t + timedelta(seconds=30))
    assert store.take_over(a, previous_holder=old.holder, expired_before=t)
    assert not store.take_over(b, previous_holder=old.holder, expired_before=t)
    assert not store.take_over(b, previous_holder=a.holder, expired_before=t)  # not expired
    assert store.get(ACCOUNT).holder == a.holder


def test_a_trader_restarted_in_place_of_a_dead_one_starts_at_once(
    engine: Engine, tmp_path: Path
) -> None:
    put_lease(engine, host=HOST, pid=dead_pid(), expires_in_s=3600)  # as kill -9 leaves it
    with market() as m, trader_in_thread(engine, live_config(tmp_path), m) as t:
        step(m, t.seen_us, t.idle, minutes=1)
        assert SqlLeaseStore(engine).get(ACCOUNT).holder == t.built.trader.lease.holder


# --------------------------------------------------------------------- (c) a lost lease


def test_a_trader_whose_lease_was_taken_over_stops_trading(engine: Engine, tmp_path: Path) -> None:
    store = SqlLeaseStore(engine)
    with market() as m, trader_in_thread(engine, live_config(tmp_path), m, lease_ttl_s=3) as t:
        step(m, t.seen_us, t.idle, minutes=2)
        assert t.desk.trading
        # the lease runs out (say the trader's host stalled) and another process takes it
        deadline = time.monotonic() + 10
        while True:
            store.expire(ACCOUNT, now() - timedelta(seconds=1))
            try:
                usurper = Lease(store, ACCOUNT, host="other-host", pid=4242).acquire()
                break
            except LeaseHeld:  # the trader renewed in between: expire it again
                assert time.monotonic() < deadline
        t.thread.join(timeout=10)
        assert not t.thread.is_alive(), "the trader kept running without its lease"
        trader = t.built.trader
        assert "lease lost, host other-host pid 4242 holds it" in trader.lease_lost
        assert not t.desk.trading
        assert trader.stop_event.is_set()
        # it left the new holder's lease alone
        assert store.get(ACCOUNT).holder == usurper.holder
        with pytest.raises(LeaseLost):
            trader.lease.renew(force=True)
        usurper.release()


# --------------------------------------------------------------------- (d) resync


def cli_config(tmp: Path, url: str) -> Path:
    path = live_config(tmp)
    body = yaml.safe_load(path.read_text())
    body["broker"]["url"] = url
    path.write_text(yaml.safe_dump(body))
    return path


def tradewind(tmp: Path, db_url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND_")}
    env.update(
        TRADEWIND_HOME=str(tmp / "home"),
        TRADEWIND_VENUE_TOKEN=TOKEN,
        TRADEWIND_DATABASE_URL=db_url,
    )
    return subprocess.run(
        [str(TRADEWIND), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=180,
    )


def test_resync_adopts_the_brokers_books(engine: Engine, db_url: str, tmp_path: Path) -> None:
    store = SqlOmsStore(engine)
    with market() as m:
        config = cli_config(tmp_path, m.url)
        oms = OrderManager(m.broker, store, ACCOUNT)
        assert oms.reconcile().clean  # adopts the fresh account
        mid = m.broker.pricing([EUR])[0].bid
        # the books go wrong: orders placed by hand at the broker (a market order fills, a
        # limit order waits), a stored position nobody can explain, and a local order the
        # broker never had
        m.broker.submit_order(OrderRequest(EUR, "700", client_id="by-hand-1"))
        m.broker.submit_order(
            OrderRequest(
                EUR,
                "500",
                type="LIMIT",
                client_id="by-hand-2",
                price=f"{mid * 0.97:.5f}",
                time_in_force="GTC",
            )
        )
        store.put_positions([PositionRecord(ACCOUNT, EUR, 3000.0, mid, 0.0, 1)], {"test": "bad"})
        ghost = str(ULID())
        t_us = time.time_ns() // 1000
        store.insert_order(
            OrderRecord(
                ghost, ACCOUNT, EUR, 100.0, "LIMIT", OrderState.ACCEPTED, t_us, t_us,
                price=mid * 0.9, broker_order_id="999999",
            ),
            {"test": "ghost"},
        )  # fmt: skip
        report = OrderManager(m.broker, store, ACCOUNT).reconcile()
        assert not report.clean
        text = "; ".join(report.differences)
        assert "position EUR_USD" in text
        assert ghost in text
        assert "not ours" in text
        set_kill_switch(engine, ACCOUNT, "halted", report.summary()[:200], "system")

        # refused: without a person, and while a trader holds the account
        nobody = tradewind(tmp_path, db_url, "live", "resync", "--reason", "x", "-c", config)
        assert nobody.returncode == 1
        assert "--by" in nobody.stderr, nobody.stderr
        system = tradewind(
            tmp_path, db_url, "live", "resync", "--reason", "x", "--by", "system", "-c", config
        )
        assert system.returncode == 1
        assert "person" in system.stderr, system.stderr
        held = Lease(SqlLeaseStore(engine), ACCOUNT).acquire()
        busy = tradewind(
            tmp_path, db_url, "live", "resync", "--reason", "x", "--by", "alice", "-c", config
        )
        held.release()
        assert busy.returncode == 1
        assert busy.stderr.count("\n") == 1, busy.stderr
        assert f"is already traded by host {HOST} pid {os.getpid()}" in busy.stderr
        assert not OrderManager(m.broker, store, ACCOUNT).reconcile().clean  # untouched

        done = tradewind(
            tmp_path, db_url, "live", "resync", "--account", ACCOUNT, "--by", "alice",
            "--reason", "hand orders reviewed", "-c", config,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "resynced by alice" in done.stdout
        assert "reconcile: clean" in done.stdout
        assert "live resume" in done.stdout  # halted: a person resumes separately

        # the books are the broker's: a reconcile is clean
        after = OrderManager(m.broker, store, ACCOUNT)
        assert after.reconcile().clean
        assert after.position(EUR) == m.position() == 700.0
        assert store.order(ghost).state == OrderState.CANCELLED
        assert store.order(ghost).reject_reason == "resync"
        adopted = store.order("by-hand-2")
        assert adopted is not None
        assert adopted.state == OrderState.ACCEPTED
        assert adopted.units == 500.0
        last = m.broker.account_summary().last_transaction_id
        assert store.last_transaction_id(ACCOUNT) == last
        events = [
            r["body"]["resync"]
            for r in store.audit_log(ACCOUNT)
            if r["kind"] == "event" and "resync" in r["body"]
        ]
        assert len(events) == 1
        ev = events[0]
        assert ev["by"] == "alice"
        assert ev["reason"] == "hand orders reviewed"
        # the bad stored 3,000 and the hand order's fill the unclean reconcile backfilled
        assert ev["before"]["positions"] == {EUR: 3700.0}
        assert ev["after"]["positions"] == {EUR: 700.0}
        assert ghost in ev["before"]["open_orders"]
        assert ev["after"]["open_orders"] == ["by-hand-2"]
        assert ev["after"]["last_transaction_id"] == last
        # the kill switch is not resync's business
        assert SqlKillSwitchStore(engine).load(ACCOUNT).state is KillState.HALTED
