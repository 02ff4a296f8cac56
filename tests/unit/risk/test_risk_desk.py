"""Through the desk: when trading is reducing only, a reversal's reducing part is what the
desk sends, the refused part is reported as a risk event, and the execution algorithm
counts only the units sent."""

from __future__ import annotations

from typing import Any

import pytest
from risk_support import EUR, NOW, MemoryKillStore, limits, rules, tick

from tradewind.config.execution import BestLimitConfig, MarketConfig, StopConfig, TwapConfig
from tradewind.domain.orders import OrderIntent, OrderRecord, OrderState, PositionRecord
from tradewind.domain.ticks import Tick
from tradewind.live.bars import BarAggregator
from tradewind.live.desk import Account, Desk, Lane
from tradewind.oms.execution import make_algo
from tradewind.risk import KillState, KillSwitch, PortfolioVaR, PreTradeRisk, RiskDecision


class Book:
    """A long position of 1000 EUR_USD, no pending orders; orders sent fill at once."""

    def __init__(self) -> None:
        self.sent: list[OrderIntent] = []
        self.records: dict[str, OrderRecord] = {}

    def position_record(self, instrument: str) -> PositionRecord | None:
        return self.positions().get(instrument)

    def positions(self) -> dict[str, PositionRecord]:
        return {EUR: PositionRecord("acct", EUR, 1000, 1.1, 0.0, NOW)}

    def pending_units(self, instrument: str) -> float:
        return 0.0

    def send(self, intent: OrderIntent) -> OrderRecord:
        self.sent.append(intent)
        cid = f"C{len(self.sent)}"
        rec = OrderRecord(cid, "acct", intent.instrument, intent.units, intent.type,
                          OrderState.FILLED, NOW, NOW, filled_units=intent.units)  # fmt: skip
        self.records[cid] = rec
        return rec

    def order(self, client_id: str) -> OrderRecord:
        return self.records[client_id]

    def cancel(self, client_id: str) -> OrderRecord:
        return self.records[client_id]


def test_a_reversal_under_reducing_sends_the_reducing_part_and_reports_the_rest() -> None:
    book = Book()
    kill = KillSwitch(MemoryKillStore(), "acct", None)
    kill.trip(KillState.REDUCING, "daily loss", NOW)
    risk: list[tuple[str, RiskDecision]] = []
    lane = Lane(
        deployment="dep",
        instrument=EUR,
        bars=None,  # type: ignore[arg-type]  # no bars: the test sends through the algo
        decision=None,  # type: ignore[arg-type]
        risk=PreTradeRisk(limits(), rules()),
        var=PortfolioVaR(limits()),
        new_algo=None,  # type: ignore[arg-type]
    )
    now = tick(age_s=0)
    desk = Desk(
        [lane],
        book,
        kill,
        book.send,
        account=Account("USD", 100_000, 100_000),
        on_risk=lambda dep, d: risk.append((dep, d)),
        wall_ns=lambda: 0,
        start_us=now.ts_us,
    )
    desk.trading = True
    desk.last[EUR] = now

    def submit(intent: OrderIntent) -> Any:
        return desk._submit(lane, intent)

    algo = make_algo(MarketConfig(), submit=submit, oms=book, rules=rules()[EUR], tag="flip")
    algo.start(EUR, -2000, now)  # target +1000 -> -1000

    (sent,) = book.sent
    assert sent.units == -1000  # down to flat, not past it
    assert sent.deployment == "dep"
    ((dep, decision),) = risk
    assert (dep, decision.approved, decision.check) == ("dep", True, "kill_switch")
    assert decision.refused_units == -1000
    assert decision.intent == sent
    assert algo.done
    assert (algo.filled_units, algo.working_units, algo.leftover_units) == (-1000, 0, -1000)


# --- the dry run of the order path before a bar closes ------------------------------------


class Hold:
    """A decision that never trades (the lane's bars close; no order is wanted)."""

    def on_bar(self, bar: Any, **_: Any) -> None:
        return None


class CountingRisk(PreTradeRisk):
    """The real checks, counting the calls and the dry ones."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.calls: list[bool] = []  # quiet, per call

    def check(self, *a: Any, quiet: bool = False, **kw: Any) -> RiskDecision:
        self.calls.append(quiet)
        return super().check(*a, quiet=quiet, **kw)


def warm_desk(
    lead_s: float, execution: Any = None, **risk: Any
) -> tuple[Desk, Book, list[Any], CountingRisk]:
    book, events = Book(), []
    checks = CountingRisk(limits(**risk), rules())
    lane = Lane(
        deployment="dep",
        instrument=EUR,
        bars=BarAggregator("M1"),
        decision=Hold(),  # type: ignore[arg-type]
        risk=checks,
        var=PortfolioVaR(limits(**risk)),
        new_algo=lambda tag, submit: make_algo(
            execution or MarketConfig(), submit=submit, oms=book, rules=rules()[EUR], tag=tag
        ),
    )
    desk = Desk(
        [lane],
        book,
        KillSwitch(MemoryKillStore(), "acct", None),
        book.send,
        account=Account("USD", 100_000, 100_000),
        on_risk=lambda dep, d: events.append(d),
        warm_lead_us=int(lead_s * 1e6),
    )
    desk.trading = True
    for i in range(400):  # VaR's history: a gentle random-looking walk of closes
        lane.var.update(EUR, 1.1 + 0.0001 * ((i * 7919) % 13 - 6))
    return desk, book, events, checks


def feed(desk: Desk, seconds: range) -> list[int]:
    """Ticks at these seconds after a bar boundary, each followed by the trader's timer
    (``flush_bars``, at the tick's market time: the desk's wall clock stands still); returns
    the seconds after whose tick the timer ran the order path dry. A tick never runs it."""
    base = NOW - NOW % 60_000_000
    desk._wall_ns = lambda: 0
    warmed = []
    for s in seconds:
        before = desk.counts["warm_ups"]
        desk.on_tick(Tick(EUR, base + s * 1_000_000, 1.0999, 1.1001))
        assert desk.counts["warm_ups"] == before  # not on the price thread
        desk.flush_bars()
        if desk.counts["warm_ups"] > before:
            warmed.append(s)
    return warmed


def test_the_timer_runs_the_order_path_dry_once_a_bar_near_the_close() -> None:
    desk, book, events, checks = warm_desk(10)
    # ticks every 7 s over three bars, the timer after each: 49 s is before the last 10 s,
    # 56 s is within them; the tick at 63 s opened the second bar
    warmed = feed(desk, range(0, 180, 7))
    assert warmed == [56, 112, 175]
    assert desk.counts["bars"] == 2
    assert desk.counts["warm_ups"] == 3
    assert checks.calls == [True, True, True]  # every risk check ran, as a dry run
    assert book.sent == []
    assert events == []
    assert desk.counts["intents"] == 0
    assert checks.sent_in_last_minute(NOW + 10**9) == 0
    assert desk.idle()  # the algorithm made was never started nor kept


def test_a_refused_dry_run_is_neither_logged_nor_reported(caplog: Any) -> None:
    # the kill switch halted, then a VaR limit no order passes: both refuse, quietly
    for desk, why in (
        (warm_desk(10)[0], "halted"),
        (warm_desk(10, max_var=0.01)[0], "var"),
    ):
        if why == "halted":
            desk.kill.trip(KillState.HALTED, "test", NOW)
        caplog.clear()
        with caplog.at_level("INFO"):
            assert feed(desk, range(0, 60, 5)) == [50]
        assert [r.getMessage() for r in caplog.records] == [], why


def test_an_approved_dry_run_is_silent_too(caplog: Any) -> None:
    desk, book, events, checks = warm_desk(10)
    with caplog.at_level("DEBUG"):
        assert feed(desk, range(0, 60, 5)) == [50]
    assert checks.calls == [True]  # the algorithm started, its order was checked ...
    assert book.sent == []
    assert events == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= 20] == []


def test_no_dry_run_while_not_trading_or_when_switched_off() -> None:
    desk, _, _, checks = warm_desk(10)
    desk.trading = False  # not reconciled yet
    assert feed(desk, range(0, 60, 5)) == []
    desk, _, _, checks = warm_desk(0)  # warm_order_path_s: 0
    assert feed(desk, range(0, 180, 5)) == []
    assert checks.calls == []


def test_in_a_quiet_market_the_timer_runs_the_order_path_dry() -> None:
    """No tick in a bar's last seconds: ``flush_bars`` (the trader's timer) runs it on the
    last tick, at market time (the latest tick's time plus the wall time since)."""
    wall = [0]
    desk, book, events, checks = warm_desk(10)
    desk._wall_ns = lambda: wall[0]
    base = NOW - NOW % 60_000_000
    desk.on_tick(Tick(EUR, base + 20_000_000, 1.0999, 1.1001))  # the bar's only tick, at 20 s
    for seconds in (25, 45, 49):  # not yet within 10 s of the end
        wall[0] = (seconds - 20) * 1_000_000_000
        desk.flush_bars()
    assert desk.counts["warm_ups"] == 0
    for seconds in (51, 55, 59):  # due at 51 s, once
        wall[0] = (seconds - 20) * 1_000_000_000
        desk.flush_bars()
    assert desk.counts["warm_ups"] == 1
    assert checks.calls == [True]
    assert book.sent == []
    assert events == []
    assert desk.counts["bars"] == 0


@pytest.mark.parametrize(
    "execution",
    [
        MarketConfig(bound_bps=10),
        BestLimitConfig(),
        StopConfig(trigger_bps=5),
        TwapConfig(horizon_s=60, slices=3),
    ],
    ids=lambda c: c.algo,
)
def test_every_execution_algorithm_runs_dry_silently(execution: Any, caplog: Any) -> None:
    desk, book, events, checks = warm_desk(10, execution)
    with caplog.at_level("DEBUG"):
        assert feed(desk, range(0, 120, 5)) == [50, 110]
    assert book.sent == []
    assert events == []
    assert desk.idle()
    assert set(checks.calls) <= {True}  # whatever it sent at start was a dry run
    assert [r.getMessage() for r in caplog.records if r.levelno >= 20] == []
