"""Issue 6's crash test: the trader is SIGKILLed between an order reaching the venue and the
OMS recording the answer, then restarted. It must reconcile (the order is found by its client
id, never sent again) and end with the same positions as an uninterrupted run on the same
seeded prices (a stepped clock: market time moves only when the test moves it)."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from live_support import live_config, market, start_child
from venue_support import ACCOUNT

from tradewind.domain.orders import OrderState
from tradewind.storage.engine import make_engine
from tradewind.storage.oms import SqlOmsStore

MINUTES = 8


def run(tmp: Path, name: str, db_url: str, crash_after_send: int = 0) -> dict[str, object]:
    """Trade ``MINUTES`` minutes; with ``crash_after_send`` the trader kills itself after that
    order and is restarted (market time stands still meanwhile, as it would not in life:
    so both runs see the same prices)."""
    (tmp / name).mkdir()
    config = live_config(tmp / name)
    crashed = False
    with market(seed=5) as m:
        child = start_child(config, db_url, m, crash_after_send=crash_after_send)
        for _ in range(MINUTES):
            m.advance(60.0)
            target = m.now_us()  # the bar-closing tick, handled
            deadline = time.monotonic() + 30
            while True:
                assert time.monotonic() < deadline, "the trader did not catch up"
                if child.proc.poll() is not None:
                    assert child.proc.returncode == -signal.SIGKILL, child.proc.returncode
                    assert not crashed, "crashed twice"
                    crashed = True
                    child = start_child(config, db_url, m)  # restart: reconcile, trade on
                    continue
                if child.seen_us() >= target and child.idle():
                    break
                time.sleep(0.02)
        report = child.report()
        assert child.stop() == 0
        return {
            "position": m.position(),
            "creates": m.order_creates(),
            "fills": m.fills(),
            "report": report,
            "crashed": crashed,
        }


@pytest.mark.parametrize("new_db_url", ["sqlite", "postgres"], indirect=True)
def test_kill9_between_submit_and_commit(tmp_path: Path, new_db_url) -> None:
    clean = run(tmp_path, "uninterrupted", new_db_url("clean"))
    crashed_url = new_db_url("crashed")
    crashed = run(tmp_path, "crashed", crashed_url, crash_after_send=2)
    assert crashed["crashed"], "the trader never sent its second order"
    # the same positions as the uninterrupted run, on the same prices
    assert crashed["position"] == clean["position"]
    assert clean["position"] != 0
    # no client id reached the venue twice, and no extra order was sent
    ids = Counter(t["clientExtensions"]["id"] for t in crashed["creates"])
    assert max(ids.values()) == 1
    # the order the crash left unrecorded was resolved by its client id at the restart
    engine = make_engine(crashed_url)
    try:
        store = SqlOmsStore(engine)
        orders = store.orders(ACCOUNT)
        assert all(o.state in (OrderState.FILLED, OrderState.CANCELLED) for o in orders)
        assert len(orders) == len(crashed["creates"])
        assert store.positions(ACCOUNT)["EUR_USD"].units == crashed["position"]
        # every fill at the venue is in the OMS's books, once
        venue_fills = sorted(int(t["id"]) for t in crashed["fills"])
        assert sorted(f.transaction_id for f in store.fills(ACCOUNT)) == venue_fills
        events = [r for r in store.audit_log(ACCOUNT) if r["kind"] == "event"]
        assert any("reconcile" in r["body"] for r in events)
    finally:
        engine.dispose()
