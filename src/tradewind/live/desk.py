"""The trading core of one account: ticks in, risk-checked orders out.

For each fresh tick (bad ticks are dropped and logged by ``TickFilter``): the tick goes to the
bar aggregator of every deployment trading its instrument; a closed bar goes through the
feature function and the decision code the backtests use (``LiveDecision``), which gives a
target position; the difference from the position (and pending orders) becomes an execution
algorithm; every order the algorithm wants goes through the pre-trade checks, the portfolio
VaR/ES limits and the kill switch, then to ``send``: in the trader, the order worker
(``oms.worker``), which makes the order in memory and queues it (its thread commits it, then
sends it), so nothing here blocks on the database or the network; the trader
(``live.trader``) owns the threads.

The desk's clock is market time: the latest tick's time plus the wall time since it arrived
(times ``clock_speed``, for a paper venue on a fast clock), so staleness and algorithm
timeouts work the same on the venue and on OANDA.

Orders come once in many bars, so the order path is cold when one comes: once a bar, a few
seconds before it closes, the trader's timer (``flush_bars``) runs it dry, off the price
thread's path (``_warm_before_close``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from tradewind.domain.orders import OrderIntent, OrderRecord, OrderState, PositionRecord
from tradewind.domain.ticks import Tick
from tradewind.live.bars import BarAggregator
from tradewind.live.decisions import LiveDecision
from tradewind.live.ticks import TickFilter
from tradewind.oms.execution import ExecutionAlgo
from tradewind.oms.execution.base import AlgoBase
from tradewind.oms.ledger import to_account_factor
from tradewind.risk import (
    KillState,
    KillSwitch,
    MarketView,
    PortfolioVaR,
    PortfolioView,
    PreTradeRisk,
    RiskDecision,
)
from tradewind.signals import DecisionError

log = logging.getLogger(__name__)


class Book(Protocol):
    """What the desk reads of the OMS."""

    def position_record(self, instrument: str) -> PositionRecord | None: ...

    def positions(self) -> dict[str, PositionRecord]: ...

    def pending_units(self, instrument: str) -> float: ...


AlgoFactory = Callable[[str, Callable[[OrderIntent], OrderRecord | None]], ExecutionAlgo]


@dataclass(slots=True)
class Lane:
    """One instrument of one deployment."""

    deployment: str
    instrument: str
    bars: BarAggregator
    decision: LiveDecision
    risk: PreTradeRisk
    var: PortfolioVaR
    new_algo: AlgoFactory
    algo: ExecutionAlgo | None = None
    failed: str = ""  # why this lane stopped deciding (a DecisionError)
    warm_due_us: int = 0  # market time from which the next dry run is due
    dry_fill: OrderRecord | None = None  # what a dry run's order comes back as (reused)
    targets: list[tuple[int, float]] = field(default_factory=list)  # (bar ts_us, units)


@dataclass(slots=True)
class Account:
    currency: str = "USD"
    nav: float = 0.0
    margin_available: float = 0.0


class Desk:
    def __init__(
        self,
        lanes: Sequence[Lane],
        book: Book,
        kill: KillSwitch,
        send: Callable[[OrderIntent], OrderRecord | None],
        *,
        account: Account | None = None,
        on_risk: Callable[[str, RiskDecision], None] | None = None,
        clock_speed: float = 1.0,
        wall_ns: Callable[[], int] = time.perf_counter_ns,
        start_us: int = 0,
        warm_lead_us: int = 0,
    ) -> None:
        self.lanes = list(lanes)
        self.book = book
        self.kill = kill
        self.send = send
        self.account = account or Account()
        self.on_risk = on_risk
        self.clock_speed = clock_speed
        self._wall_ns = wall_ns
        self.filter = TickFilter()
        self.last: dict[str, Tick] = {}
        self.processed_us = 0  # the latest tick fully handled (its bar, decision and orders)
        self.trading = False  # set by the trader once the books reconcile clean
        self.halt_reason = "not reconciled yet"
        self._lock = threading.RLock()
        # every VaR book sees every instrument's bar closes (portfolio VaR needs them all)
        self._vars = list({id(lane.var): lane.var for lane in self.lanes}.values())
        self._by_instrument: dict[str, list[Lane]] = {}
        for lane in self.lanes:
            self._by_instrument.setdefault(lane.instrument, []).append(lane)
        # market time until the first tick: the broker's (``start_us``, e.g. its price time)
        self._market_us = start_us
        self._market_wall_ns = wall_ns()
        self.latency_ns: deque[int] = deque(maxlen=100_000)  # tick -> risk-checked intent
        self.counts: dict[str, int] = {
            "ticks": 0,
            "bars": 0,
            "decisions": 0,
            "intents": 0,
            "warm_ups": 0,  # dry runs of the order path (``_warm_before_close``)
        }
        self._tick_wall_ns = 0
        self.warm_lead_us = warm_lead_us  # run the order path dry this long before a close

    # --- clock ---------------------------------------------------------------------------
    def now_us(self) -> int:
        """Market time (see the module doc)."""
        if not self._market_us:
            return time.time_ns() // 1000
        elapsed_ns = self._wall_ns() - self._market_wall_ns
        return self._market_us + int(elapsed_ns * self.clock_speed) // 1000

    # --- ticks ---------------------------------------------------------------------------
    def on_tick(self, tick: Tick) -> None:
        """One tick from the price stream (any instrument; unknown ones are ignored)."""
        received = self._wall_ns()
        with self._lock:
            accepted = self.filter.accept(tick)
            if accepted is None:
                return
            self.counts["ticks"] += 1
            self._tick_wall_ns = received
            if accepted.ts_us >= self._market_us:
                self._market_us, self._market_wall_ns = accepted.ts_us, received
            self.last[accepted.instrument] = accepted
            for lane in self._by_instrument.get(accepted.instrument, ()):
                closed = lane.bars.on_tick(accepted)
                for bar in closed:
                    self._on_bar(lane, bar, accepted)
                if lane.algo is not None:
                    lane.algo.on_tick(accepted)
                    if lane.algo.done:
                        lane.algo = None
            self.processed_us = max(self.processed_us, accepted.ts_us)

    def poll(self) -> None:
        """Let working algorithms see order changes that arrived without a tick (a fill from
        the transaction stream in a quiet market): each is shown its instrument's last tick
        again, and dropped when done."""
        with self._lock:
            for lane in self.lanes:
                tick = self.last.get(lane.instrument)
                if lane.algo is not None and tick is not None:
                    lane.algo.on_tick(tick)
                    if lane.algo.done:
                        lane.algo = None

    def flush_bars(self) -> None:
        """The trader's timer (every 0.2 s, on its own thread): close bars whose period has
        ended (when ticks stop), and run each lane's order path dry once it is due
        (``_warm_before_close``). The dry run is here, not in ``on_tick``, so that the price
        thread never pays for it: it runs between ticks, and in a burst of ticks at most once
        a timer interval, whatever the tick rate."""
        with self._lock:
            now = self.now_us()
            for lane in self.lanes:
                tick = self.last.get(lane.instrument)
                for bar in lane.bars.flush(now):
                    if tick is not None:
                        self._on_bar(lane, bar, tick)
                if self.warm_lead_us and tick is not None and lane.algo is None:
                    self._warm_before_close(lane, tick, now)

    def _on_bar(self, lane: Lane, bar: Any, tick: Tick) -> None:
        self.counts["bars"] += 1
        for var in self._vars:
            var.update(lane.instrument, float(bar.close))
        record = self.book.position_record(lane.instrument)
        units = record.units if record is not None else 0.0
        avg = record.avg_price if record is not None else 0.0
        pending = lane.algo is not None or abs(self.book.pending_units(lane.instrument)) > 0
        if lane.failed:
            return
        try:
            target = lane.decision.on_bar(bar, position=units, avg_price=avg, pending=pending)
        except DecisionError as exc:
            # a strategy bug: this lane stops deciding (its working orders are cancelled);
            # the others trade on, and /health says why
            log.error("%s %s: %s; the lane stops", lane.deployment, lane.instrument, exc)
            lane.failed = str(exc)
            if lane.algo is not None:
                lane.algo.cancel()
                lane.algo = None
            return
        if target is None:
            return
        self.counts["decisions"] += 1
        lane.targets.append((int(bar.ts_us), float(target)))
        delta = lane.risk.round_units(lane.instrument, target - units)
        if delta == 0:
            return
        reason = f"target {target:g} from {units:g} on bar {bar.ts_us}"

        def submit(intent: OrderIntent) -> OrderRecord | None:
            return self._submit(lane, intent)

        lane.algo = lane.new_algo(reason, submit)
        lane.algo.start(lane.instrument, delta, tick)
        if lane.algo.done:
            lane.algo = None

    def _warm_before_close(self, lane: Lane, tick: Tick, now_us: int | None = None) -> None:
        """Once a bar, at the timer's first ``flush_bars`` within ``warm_lead_us`` of its end
        (market time ``now_us``, else the last tick's), run the lane's order path dry on the
        last tick: a new execution algorithm (its id drawn) starts an order of the minimum
        size on the side that adds to the position, and each order it sends goes through
        every risk check and comes back as if filled at once; nothing is sent, recorded,
        logged or reported, and the algorithm is dropped. An order comes once in many bars,
        so by then its code and data have left the CPU's caches; run a few seconds before the
        bar closes, the real order finds them there (the bar close itself runs every bar and
        stays warm)."""
        now = tick.ts_us if now_us is None else now_us
        if now < lane.warm_due_us:  # ran this bar already, or not due yet
            return
        period = lane.bars.period_us
        due = now - now % period + period - min(self.warm_lead_us, period)
        if now < due:
            lane.warm_due_us = due  # the timer's calls return at once until then
            return
        lane.warm_due_us = due + period  # the next bar's
        if not self.trading or lane.failed:
            return
        rules = lane.risk.rules.get(lane.instrument)
        if rules is None:
            return
        record = self.book.position_record(lane.instrument)
        short = record is not None and record.units < 0
        units = -rules.min_trade_size if short else rules.min_trade_size
        self.counts["warm_ups"] += 1

        def dry_submit(intent: OrderIntent) -> OrderRecord | None:
            decision = self.check(lane, intent, quiet=True)
            if not decision.approved:
                return None
            sent, fill = decision.intent, lane.dry_fill
            if fill is None or fill.units != sent.units or fill.type != sent.type:
                fill = lane.dry_fill = OrderRecord(  # made once: the algorithm is dropped
                    "warm-up", "", sent.instrument, sent.units, sent.type, OrderState.FILLED,
                    tick.ts_us, tick.ts_us, filled_units=sent.units, avg_price=tick.mid,
                )  # fmt: skip
            return fill

        algo = lane.new_algo("warm-up", dry_submit)
        if isinstance(algo, AlgoBase):  # every algorithm of ``make_algo``: it can be silenced
            algo.quiet = True
            algo.start(lane.instrument, units, tick)

    # --- orders --------------------------------------------------------------------------
    def portfolio(self) -> PortfolioView:
        positions = {k: v.units for k, v in self.book.positions().items()}
        instruments = set(positions) | set(self.last)
        mids = {k: t.mid for k, t in self.last.items()}
        factors: dict[str, float] = {}
        for inst in instruments:
            f = to_account_factor(inst, self.account.currency, mids)
            if f is not None:
                factors[inst] = f
        pending = self.book.pending_units
        account = self.account
        return PortfolioView(  # positional: positions, pending_units, mids, to_account, ...
            positions,
            {i: pending(i) for i in instruments},
            mids,
            factors,
            account.nav,
            account.margin_available,
        )

    def check(self, lane: Lane, intent: OrderIntent, *, quiet: bool = False) -> RiskDecision:
        """Every risk check an order passes before it is sent (``quiet``: a dry run, whose
        refusals are not logged)."""
        if not self.trading:
            return RiskDecision.refuse(intent, "reconcile", self.halt_reason)
        view = self.portfolio()
        now = self.now_us()
        decision = lane.risk.check(
            intent,
            MarketView(self.last.get(intent.instrument)),
            view,
            now,
            kill_state=self.kill.state,
            quiet=quiet,
        )
        if decision.approved:  # on the intent as approved (maybe cut: reducing only)
            var = lane.var.check(decision.intent, view, quiet=quiet)
            if not (var.approved and decision.refused_units):
                decision = var
        return decision

    def _submit(self, lane: Lane, intent: OrderIntent) -> OrderRecord | None:
        if not intent.deployment:
            intent = replace(intent, deployment=lane.deployment)
        decision = self.check(lane, intent)
        if not decision.approved:
            log.info("%s: order refused: %s", lane.deployment, decision)
            if self.on_risk is not None:
                self.on_risk(lane.deployment, decision)
            return None
        if decision.refused_units:  # cut to its reducing part: the refused part is logged
            log.info("%s: order cut: %s", lane.deployment, decision)
            if self.on_risk is not None:
                self.on_risk(lane.deployment, decision)
        lane.risk.record_sent(self.now_us())
        self.counts["intents"] += 1
        if self._tick_wall_ns:
            self.latency_ns.append(self._wall_ns() - self._tick_wall_ns)
        try:
            # the algorithm reads the units sent off the record (risk may cut a reversal)
            return self.send(decision.intent)
        except Exception:  # e.g. the order worker is stopping: the order is not sent
            log.exception("%s: the order could not be queued", lane.deployment)
            return None

    def cancel_all(self, reason: str) -> None:
        """Stop every working algorithm (their live orders are cancelled, leftovers dropped)."""
        with self._lock:
            for lane in self.lanes:
                if lane.algo is not None:
                    log.info(
                        "%s %s: cancelling the working algorithm (%s)",
                        lane.deployment,
                        lane.instrument,
                        reason,
                    )
                    lane.algo.cancel()
                    lane.algo = None

    def idle(self) -> bool:
        """No execution algorithm is working."""
        return all(lane.algo is None for lane in self.lanes)

    @property
    def kill_state(self) -> KillState:
        return self.kill.state

    def targets(self) -> Mapping[tuple[str, str], list[tuple[int, float]]]:
        return {(lane.deployment, lane.instrument): list(lane.targets) for lane in self.lanes}
