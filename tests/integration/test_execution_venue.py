"""The execution algorithms on the real OMS (OrderManager + SqlOmsStore on SQLite) against the
paper venue with the real oandapyV20 client.

``market``, ``twap`` and ``stop`` run the way the trader runs them: the venue on a fast clock,
ticks from the broker's price stream, fills of pending orders applied by a transaction-stream
thread. ``best_limit`` runs on a stepped venue clock: the test moves market time five seconds
at a time, lets the venue act on the new prices, brings the OMS up to date and only then
feeds the tick, so its re-pricing is checked tick by tick and the same on every run.

Every test ends with a clean reconciliation and each client id created once at the venue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine
from venue_support import ACCOUNT, EUR, make_broker, running_venue

from tradewind.broker.oanda import OandaBroker
from tradewind.broker.times import v20_time_us
from tradewind.config.execution import BestLimitConfig, MarketConfig, StopConfig, TwapConfig
from tradewind.domain.broker import Heartbeat
from tradewind.domain.orders import OrderIntent, OrderRecord, OrderState
from tradewind.domain.ticks import Tick
from tradewind.oms import OrderManager
from tradewind.oms.execution import (
    AlgoBase,
    BestLimitAlgo,
    MarketAlgo,
    StopAlgo,
    TwapAlgo,
    make_algo,
)
from tradewind.oms.reconcile import backfill
from tradewind.risk.rules import InstrumentRules
from tradewind.storage.oms import SqlOmsStore

CREATES = ("MARKET_ORDER", "LIMIT_ORDER", "STOP_ORDER")
WALL_LIMIT_S = 12.0
A = TypeVar("A", bound=AlgoBase)


# --- the trader's side, reduced to what the algorithms need ------------------------------
class Trader:
    """The risk-checked ``submit`` path: sends through the OMS, or refuses the orders whose
    number (1-based) is in ``refuse``, as pre-trade risk would."""

    def __init__(self, oms: OrderManager, refuse: tuple[int, ...] = ()) -> None:
        self.oms = oms
        self.refuse = set(refuse)
        self.intents: list[OrderIntent] = []

    def __call__(self, intent: OrderIntent) -> OrderRecord | None:
        self.intents.append(intent)
        if len(self.intents) in self.refuse:
            return None
        return self.oms.submit(intent)


def venue_broker(oms: OrderManager) -> OandaBroker:
    """The OMS's broker as the adapter it is (its ``v20_*`` reads show the venue's books)."""
    assert isinstance(oms.broker, OandaBroker)
    return oms.broker


def rules_of(oms: OrderManager) -> InstrumentRules:
    return oms.broker.instruments()[EUR]


def algo_for(config: Any, oms: OrderManager, trader: Trader, kind: type[A]) -> A:
    """The algorithm ``make_algo`` builds for ``config`` (the trader's own factory call)."""
    algo = make_algo(config, submit=trader, oms=oms, rules=rules_of(oms), tag="test")
    assert isinstance(algo, kind)
    return algo


@contextmanager
def transaction_thread(oms: OrderManager, base_url: str) -> Iterator[None]:
    """The trader's transaction-stream thread: each transaction applied to the OMS once."""
    broker = make_broker(base_url)
    stop = threading.Event()

    def pump() -> None:
        for tx in broker.transaction_stream(str(oms.last_transaction_id), heartbeats=True):
            if stop.is_set():
                return
            if isinstance(tx, Heartbeat):
                continue
            oms.apply_transaction(tx)
            oms.advance(tx.transaction_id)

    thread = threading.Thread(target=pump, name="tx-stream", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def drive(algo: AlgoBase, base_url: str, until: Callable[[], bool]) -> int:
    """Feed ticks from the price stream to ``algo`` until ``until()``; returns the count."""
    stream = make_broker(base_url).price_stream([EUR])
    deadline = time.monotonic() + WALL_LIMIT_S
    n = 0
    try:
        for price in stream:
            assert isinstance(price, Tick)
            algo.on_tick(price)
            n += 1
            if until():
                return n
            assert time.monotonic() < deadline, f"gave up after {n} ticks: {algo.status}"
    finally:
        stream.close()
    raise AssertionError("the price stream ended")


def first_tick(oms: OrderManager) -> Tick:
    return oms.broker.pricing([EUR])[0]


def wait_synced(oms: OrderManager) -> None:
    deadline = time.monotonic() + 10
    while (oms.last_transaction_id or 0) < int(oms.broker.last_transaction_id(True)):
        assert time.monotonic() < deadline, "the transaction stream did not catch up"
        time.sleep(0.05)


def venue_creates(oms: OrderManager) -> list[dict[str, Any]]:
    """The order-create transactions the venue recorded for our client ids."""
    txs = venue_broker(oms).v20_transactions_since("0").transactions
    return [t for t in txs if t["type"] in CREATES and (t.get("clientExtensions") or {}).get("id")]


def assert_books_clean(oms: OrderManager, algo: AlgoBase) -> None:
    """Reconciliation is clean, and each of the algorithm's orders reached the venue once."""
    report = oms.reconcile()
    assert report.clean, report.summary()
    ids = [t["clientExtensions"]["id"] for t in venue_creates(oms)]
    assert len(ids) == len(set(ids)), "a client id was created twice at the venue"
    assert sorted(ids) == sorted(algo.orders)


def manager(base_url: str, engine: Engine) -> OrderManager:
    oms = OrderManager(make_broker(base_url), SqlOmsStore(engine), ACCOUNT)
    assert oms.reconcile().clean
    return oms


@dataclass(frozen=True)
class Fast:
    base_url: str
    oms: OrderManager


@pytest.fixture
def fast(db_engine: Engine) -> Iterator[Fast]:
    """A venue on a fast clock (50x), an OMS on it, and its transaction-stream thread."""
    with running_venue(speed=50.0, seed=11) as v:
        oms = manager(v.base_url, db_engine)
        with transaction_thread(oms, v.base_url):
            yield Fast(v.base_url, oms)


# --- market ------------------------------------------------------------------------------
def test_market_fills_and_moves_the_position(fast) -> None:
    oms = fast.oms
    trader = Trader(oms)
    tick = first_tick(oms)
    buy = algo_for(MarketConfig(bound_bps=10), oms, trader, MarketAlgo)
    buy.start(EUR, 1000, tick)
    assert buy.done
    assert (buy.filled_units, buy.working_units, buy.leftover_units) == (1000, 0, 0)
    (cid,) = buy.orders
    order = oms.order(cid)
    assert order.state == OrderState.FILLED
    assert order.type == "MARKET"
    assert order.time_in_force == "FOK"
    assert order.price_bound is not None
    assert order.price_bound >= tick.ask * 1.001 - 1e-9
    assert order.algo == f"{trader.intents[0].algo}"
    assert order.algo.startswith("market:")
    assert oms.position(EUR) == 1000
    sell = algo_for(MarketConfig(bound_bps=10), oms, trader, MarketAlgo)
    sell.start(EUR, -400, first_tick(oms))
    assert sell.done
    assert sell.filled_units == -400
    assert oms.position(EUR) == 600
    wait_synced(oms)
    report = oms.reconcile()
    assert report.clean, report.summary()
    ids = [t["clientExtensions"]["id"] for t in venue_creates(oms)]
    assert ids == [*buy.orders, *sell.orders]


# --- twap --------------------------------------------------------------------------------
def test_twap_slices_over_the_horizon_and_fills_everything(fast) -> None:
    oms = fast.oms
    trader = Trader(oms)
    cfg = TwapConfig(horizon_s=100, slices=5, jitter=0.2, seed=3, bound_bps=20)
    twap = algo_for(cfg, oms, trader, TwapAlgo)
    start = first_tick(oms)
    twap.start(EUR, 1003, start)
    drive(twap, fast.base_url, lambda: twap.done)
    assert len(twap.orders) == 5
    records = [oms.order(c) for c in twap.orders]
    assert [r.units for r in records] == [200, 200, 200, 200, 203]
    assert all(r.state == OrderState.FILLED and r.type == "MARKET" for r in records)
    assert [r.algo for r in records] == [f"{twap.label}#{i}" for i in range(1, 6)]
    assert twap.filled_units == 1003
    assert twap.leftover_units == 0
    assert oms.position(EUR) == 1003
    # each slice reached the venue at or after its time, and none after the horizon
    created = [v20_time_us(t["time"]) or 0 for t in venue_creates(oms)]
    schedule = twap.schedule
    assert all(c >= s for c, s in zip(created, schedule, strict=True))
    assert max(created) < start.ts_us + 100 * 1_000_000
    wait_synced(oms)
    assert_books_clean(oms, twap)


def test_twap_refused_slice_is_left_and_never_resent(fast) -> None:
    oms = fast.oms
    trader = Trader(oms, refuse=(2,))
    cfg = TwapConfig(horizon_s=60, slices=4, jitter=0.1, seed=5, bound_bps=20)
    twap = algo_for(cfg, oms, trader, TwapAlgo)
    start = first_tick(oms)
    twap.start(EUR, -800, start)
    drive(twap, fast.base_url, lambda: twap.done)
    assert len(trader.intents) == 4  # four slices asked for, once each
    assert len(twap.orders) == 3  # the refused one never reached the OMS
    assert twap.filled_units == -600
    assert twap.leftover_units == -200
    assert "1 refused" in twap.status
    assert oms.position(EUR) == -600
    assert [r.algo.rsplit("#", 1)[1] for r in map(oms.order, twap.orders)] == ["1", "3", "4"]
    wait_synced(oms)
    assert_books_clean(oms, twap)


# --- stop --------------------------------------------------------------------------------
def test_stop_rests_at_the_broker_and_cancels(fast) -> None:
    oms = fast.oms
    trader = Trader(oms)
    stop = algo_for(StopConfig(trigger_bps=50, stop_loss_bps=30), oms, trader, StopAlgo)
    tick = first_tick(oms)
    stop.start(EUR, 1000, tick)
    (cid,) = stop.orders
    assert oms.order(cid).state == OrderState.ACCEPTED
    (pending,) = venue_broker(oms).v20_list_orders(state="PENDING")
    assert pending["type"] == "STOP"
    assert pending["clientExtensions"]["id"] == cid
    assert float(pending["price"]) == stop.trigger
    assert stop.trigger > tick.mid * 1.004
    assert float(pending["stopLossOnFill"]["price"]) == stop.stop_loss
    assert not stop.done
    assert oms.reconcile().clean
    stop.cancel()
    assert stop.done
    assert oms.order(cid).state == OrderState.CANCELLED
    assert stop.leftover_units == 1000
    assert venue_broker(oms).v20_list_orders(state="PENDING") == []
    assert oms.position(EUR) == 0
    wait_synced(oms)
    assert_books_clean(oms, stop)


def test_stop_fills_and_the_trade_carries_its_stop_loss(fast) -> None:
    oms = fast.oms
    trader = Trader(oms)
    stop = algo_for(StopConfig(trigger_bps=0.5, stop_loss_bps=25), oms, trader, StopAlgo)
    stop.start(EUR, -500, first_tick(oms))
    assert stop.trigger is not None
    if not stop.done:
        drive(stop, fast.base_url, lambda: stop.done)
    (cid,) = stop.orders
    filled = oms.order(cid)
    assert filled.state == OrderState.FILLED
    assert stop.filled_units == -500
    assert oms.position(EUR) == -500
    (trade,) = venue_broker(oms).list_trades()
    assert float(trade["currentUnits"]) == -500
    pending = venue_broker(oms).v20_list_orders(state="PENDING")
    (loss,) = [o for o in pending if o["type"] == "STOP_LOSS"]
    assert trade["stopLossOrder"]["id"] == loss["id"]
    assert loss["tradeID"] == trade["id"]
    assert float(loss["price"]) == stop.stop_loss
    assert stop.stop_loss > stop.trigger  # a short's loss is above
    wait_synced(oms)
    assert_books_clean(oms, stop)


# --- best_limit on a stepped clock -------------------------------------------------------
class Stepper:
    """Market time in the test's hands: ``step`` moves the venue clock, lets the venue act on
    the new prices (pending orders trigger), applies the transactions to the OMS, and returns
    the new tick."""

    def __init__(self, venue: Any, oms: OrderManager) -> None:
        self.venue, self.oms = venue, oms

    def tick(self) -> Tick:
        return first_tick(self.oms)

    def step(self, seconds: float = 5.0) -> Tick:
        self.venue.clock.advance(seconds)
        self.venue.pump_quotes()
        backfill(self.oms)
        return self.tick()


@pytest.fixture
def stepped(db_engine: Engine) -> Iterator[tuple[Stepper, OrderManager]]:
    with running_venue(clock="stepped", seed=11) as v:
        oms = manager(v.base_url, db_engine)
        yield Stepper(v, oms), oms


def ours_pending(oms: OrderManager) -> list[dict[str, Any]]:
    return [o for o in venue_broker(oms).v20_list_orders(state="PENDING") if o["type"] == "LIMIT"]


def best_limit(oms: OrderManager, trader: Trader, **kw: Any) -> BestLimitAlgo:
    cfg = BestLimitConfig(**{"reprice_ticks": 1, "bound_bps": 20, **kw})
    return algo_for(cfg, oms, trader, BestLimitAlgo)


@pytest.mark.parametrize("units", [1000, -1000])
def test_best_limit_rests_at_the_best_and_follows_the_market(stepped, units: int) -> None:
    clock, oms = stepped
    trader = Trader(oms)
    algo = best_limit(oms, trader, reprice_s=15, timeout_s=300)
    tick = clock.tick()
    algo.start(EUR, units, tick)
    (cid,) = algo.orders
    (pending,) = ours_pending(oms)
    assert pending["clientExtensions"]["id"] == cid
    assert float(pending["price"]) == (tick.bid if units > 0 else tick.ask)
    assert pending["timeInForce"] == "GTC"
    seen = 0
    while not algo.done:
        before = algo.orders[-1]
        tick = clock.step()
        algo.on_tick(tick)
        assert sum(r.open for r in map(oms.order, algo.orders)) <= 1, "two live orders"
        assert len(ours_pending(oms)) <= 1
        if algo.orders[-1] != before:  # re-priced: the old order closed before the new one
            old, new = oms.order(before), oms.order(algo.orders[-1])
            assert old.state == OrderState.CANCELLED
            assert old.reject_reason == "CLIENT_REQUEST"
            assert (new.type, new.price) == ("LIMIT", tick.bid if units > 0 else tick.ask)
            assert new.units == units - algo.filled_units
            seen += 1
    assert algo.reprices == seen >= 1
    records = [oms.order(c) for c in algo.orders]
    assert all(r.type == "LIMIT" for r in records)  # filled resting, never crossed
    assert records[-1].state == OrderState.FILLED
    last = records[-1]
    assert last.avg_price is not None
    assert last.price is not None
    assert (last.price - last.avg_price) * units >= -1e-9  # at our price or better
    assert [r.algo for r in records] == [f"{algo.label}#{i + 1}" for i in range(len(records))]
    assert algo.filled_units == units
    assert oms.position(EUR) == units
    assert ours_pending(oms) == []
    assert_books_clean(oms, algo)


@pytest.mark.parametrize("on_timeout", ["market", "cancel"])
def test_best_limit_timeout_cancels_then_crosses_or_leaves(stepped, on_timeout: str) -> None:
    clock, oms = stepped
    trader = Trader(oms)
    algos: list[BestLimitAlgo] = []
    timed_out: list[BestLimitAlgo] = []
    while not timed_out:  # a limit may fill before its deadline: try again (the path is seeded)
        assert len(algos) < 8, "every limit order filled before its 5 s deadline?"
        algo = best_limit(oms, trader, reprice_s=5, timeout_s=5, on_timeout=on_timeout)
        algos.append(algo)
        algo.start(EUR, 500, clock.tick())
        while not algo.done:
            algo.on_tick(clock.step())
        if "timed out" in algo.status:
            timed_out.append(algo)
    (algo,) = timed_out
    first, *rest = [oms.order(c) for c in algo.orders]
    assert first.type == "LIMIT"
    assert first.state == OrderState.CANCELLED
    assert first.reject_reason == "CLIENT_REQUEST"
    if on_timeout == "market":
        (cross,) = rest
        assert (cross.type, cross.time_in_force, cross.state) == ("MARKET", "FOK", "filled")
        assert cross.units == 500
        assert cross.algo == f"{algo.label}#2"
        assert (algo.filled_units, algo.leftover_units) == (500, 0)
    else:
        assert rest == []
        assert (algo.filled_units, algo.leftover_units) == (0, 500)
    assert oms.position(EUR) == sum(a.filled_units for a in algos)
    assert ours_pending(oms) == []
    report = oms.reconcile()
    assert report.clean, report.summary()
    ids = [t["clientExtensions"]["id"] for t in venue_creates(oms)]
    assert sorted(ids) == sorted(c for a in algos for c in a.orders)
    assert len(ids) == len(set(ids))
