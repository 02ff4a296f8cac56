"""Issue 11's acceptance run: a live session that reverses its position on every bar (a few
dozen orders), with ten random ``kill -9``s of the trader and one of the venue along the way,
on SQLite and on Postgres. It must end with every venue ORDER_FILL in the OMS's fills once,
the same positions on both sides, no client id created twice at the venue, and a clean
reconcile. Both the trader and the venue run as processes of their own (the venue's clock is
stepped, so market time moves only when the test moves it)."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

import pytest
from live_support import Child, live_config, start_child, venue_process
from venue_support import ACCOUNT, EUR, make_broker

from tradewind.domain.orders import OrderState
from tradewind.oms import OrderManager
from tradewind.storage import migrate
from tradewind.storage.engine import make_engine
from tradewind.storage.oms import SqlOmsStore

MINUTES = 40
TRADER_KILLS = 10


def catch_up(child: Child, target_us: int, timeout: float = 45.0) -> bool:
    """Wait until the trader has handled market time ``target_us`` and is idle; False if
    its process died meanwhile."""
    deadline = time.monotonic() + timeout
    while child.proc.poll() is None:
        if child.seen_us() >= target_us and child.idle():
            return True
        assert time.monotonic() < deadline, f"the trader did not catch up: {child.report()}"
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("new_db_url", ["sqlite", "postgres"], indirect=True)
def test_ten_trader_kills_and_a_venue_kill_lose_and_duplicate_nothing(
    tmp_path: Path, new_db_url
) -> None:
    rng = random.Random(20261206)
    kills = set(rng.sample(range(2, MINUTES - 2), TRADER_KILLS))
    venue_kill = rng.choice([m for m in range(3, MINUTES - 3) if m not in kills])
    config = live_config(tmp_path, decision="flip", risk={"max_orders_per_minute": 600})
    trader_db = new_db_url("trader")
    restarts = 0
    with venue_process(new_db_url("venue")) as venue:
        child = start_child(config, trader_db, venue)
        for minute in range(MINUTES):
            venue.advance(60.0)  # closes a bar: the flip reverses the position
            if minute in kills:  # mid-decision, mid-send or just after: wherever it lands
                time.sleep(rng.uniform(0.0, 0.4))
                child.proc.kill()
                child.proc.wait(timeout=10)
                child = start_child(config, trader_db, venue)
                restarts += 1
            if minute == venue_kill:
                time.sleep(rng.uniform(0.0, 0.4))
                venue.kill()
                time.sleep(1.5)  # the trader finds the broker gone
                venue.start()  # where it stood: its transactions are in its database
            if not catch_up(child, venue.now_us()):
                raise AssertionError(f"the trader died by itself: {child.proc.returncode}")
        report = child.report()
        assert report["kill_state"] == "active", report
        assert child.stop() == 0
        fills = venue.fills()
        creates = venue.order_creates()
        position = venue.position()
        engine = make_engine(trader_db)
        try:
            migrate.upgrade(engine)
            store = SqlOmsStore(engine)
            # every venue fill is in the OMS's books, once
            assert sorted(f.transaction_id for f in store.fills(ACCOUNT)) == sorted(
                int(t["id"]) for t in fills
            )
            # no client id reached the venue twice
            ids = Counter(t["clientExtensions"]["id"] for t in creates)
            assert max(ids.values()) == 1, ids.most_common(3)
            # the same position on both sides, and a clean reconcile from the stored books
            assert store.positions(ACCOUNT)[EUR].units == position
            broker = make_broker(venue.url, name="tw-soak-check")
            try:
                oms = OrderManager(broker, store, ACCOUNT)
                final = oms.reconcile()
                assert final.clean, final.summary()
                assert not final.waiting, final.summary()
            finally:
                broker.close()
            orders = store.orders(ACCOUNT)
            assert not [o for o in orders if o.open], [o for o in orders if o.open]
            filled = sum(o.state is OrderState.FILLED for o in orders)
            print(f"soak: {len(orders)} orders, {filled} filled, {len(fills)} venue fills")
            assert filled >= 15
        finally:
            engine.dispose()
    assert restarts == TRADER_KILLS
