"""Pre-trade risk: every order passes these checks, in a fixed order, before it is sent.

The first failing check refuses the order, naming itself (``RiskDecision.check``, one of
``CHECK_NAMES``) and saying what, the limit and the value. Orders that only shrink a position
(``views.reduces``: toward zero, never past it, counting same-side pending orders) skip
``max_position``, ``max_notional`` and ``margin`` but never the others. Position and notional
checks count pending orders at their worst: the position after the order is the larger of
|position + order| and |position + pending + order|.

When the kill switch is REDUCING, an order that would go past flat (a reversal) is not refused
outright: its reducing part (``views.reducing_part``, down to flat less same-side pending
orders, at the units precision) is checked as an order of its own and, if it passes, approved
as an amended intent; the decision's ``refused_units`` is the part that would add.
Refusals are logged at INFO on ``tradewind.risk``; the caller persists them. The checks live
in ``risk.pretrade``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Mapping

from tradewind.config.risk import RiskLimits
from tradewind.domain import OrderIntent
from tradewind.risk.killswitch import KillState
from tradewind.risk.pretrade import CHECKS, SKIPPED_WHEN_REDUCING, OrderContext
from tradewind.risk.rules import InstrumentRules
from tradewind.risk.views import (
    MarketView,
    PortfolioView,
    RiskDecision,
    num,
    reduces,
    reducing_part,
)

__all__ = [
    "CHECK_NAMES",
    "SKIPPED_WHEN_REDUCING",
    "InstrumentRules",
    "MarketView",
    "PortfolioView",
    "PreTradeRisk",
    "RiskDecision",
]

log = logging.getLogger("tradewind.risk")

CHECK_NAMES = tuple(name for name, _ in CHECKS)
_RATE_WINDOW_US = 60_000_000


class PreTradeRisk:
    """The pre-trade checks of one account under ``limits`` and the broker's ``rules``.

    Thread-safe: ``record_sent`` and ``check`` may run on different threads."""

    def __init__(self, limits: RiskLimits, rules: Mapping[str, InstrumentRules]) -> None:
        self.limits = limits
        self.rules = dict(rules)
        self._sent: deque[int] = deque()
        self._latest_sent = -(2**62)  # the latest time recorded (record_sent may go back)
        self._lock = threading.Lock()
        # the checks an order runs: all of them, or without those a reducing order skips
        self._adding = CHECKS
        self._reducing = tuple((n, f) for n, f in CHECKS if n not in SKIPPED_WHEN_REDUCING)

    def round_units(self, instrument: str, units: float) -> float:
        """``units`` at the instrument's units precision, toward zero (KeyError if unknown)."""
        return self._rules(instrument).round_units(units)

    def round_price(self, instrument: str, price: float) -> float:
        """``price`` at the instrument's display precision (KeyError if unknown)."""
        return self._rules(instrument).round_price(price)

    def check(
        self,
        intent: OrderIntent,
        market: MarketView,
        portfolio: PortfolioView,
        now_us: int,
        *,
        kill_state: KillState = KillState.ACTIVE,
        quiet: bool = False,
    ) -> RiskDecision:
        """The first failing check's refusal, else approval (amended when reducing only:
        see the module doc). Does not count the order as sent: call ``record_sent`` once it
        really goes out. ``quiet``: a dry run (the desk's warm-up), nothing logged."""
        name = intent.instrument
        kill = kill_state if type(kill_state) is KillState else KillState(kill_state)
        position, pending = portfolio.position(name), portfolio.pending(name)
        reducing = reduces(position, pending, intent.units)
        if kill is KillState.REDUCING and not reducing:
            part = reducing_part(position, pending, intent.units)
            rules = self.rules.get(name)
            part = rules.round_units(part) if rules is not None else part
            if part != 0:
                return self._reduce_only(intent, part, market, portfolio, now_us, quiet)
        order = OrderContext(  # positional: the fields in order (kwargs cost on this path)
            intent,
            market.tick,
            portfolio,
            now_us,
            kill,
            self.rules.get(name),
            reducing,
            self.sent_in_last_minute(now_us),
            name,
            position,
            pending,
        )
        limits = self.limits
        for check, run in self._reducing if reducing else self._adding:
            reason = run(order, limits)
            if reason is not None:
                decision = RiskDecision.refuse(intent, check, reason)
                if not quiet:
                    log.info("risk refused %s %s units: %s", name, num(intent.units), decision)
                return decision
        return RiskDecision.ok(intent)

    def _reduce_only(
        self,
        intent: OrderIntent,
        part: float,
        market: MarketView,
        portfolio: PortfolioView,
        now_us: int,
        quiet: bool,
    ) -> RiskDecision:
        """``intent`` cut to its reducing ``part``, checked as an order of its own."""
        amended = dataclasses.replace(intent, units=part)
        decision = self.check(
            amended, market, portfolio, now_us, kill_state=KillState.REDUCING, quiet=quiet
        )
        if not decision.approved:
            return decision
        name, refused = intent.instrument, intent.units - part
        reason = (
            f"trading is reducing only: {num(part)} of the {num(intent.units)} units go, the "
            f"part that reduces {name} (position {num(portfolio.position(name))}, pending "
            f"{num(portfolio.pending(name))}); {num(refused)} that would add are refused"
        )
        if not quiet:
            log.info("risk cut %s %s units: %s", name, num(intent.units), reason)
        return RiskDecision(True, "kill_switch", reason, amended, refused_units=refused)

    def record_sent(self, now_us: int) -> None:
        """An order went out at ``now_us`` (feeds ``order_rate``)."""
        with self._lock:
            self._sent.append(now_us)
            self._latest_sent = max(self._latest_sent, now_us)

    def sent_in_last_minute(self, now_us: int) -> int:
        """Orders recorded in the 60 s up to ``now_us`` (older ones are forgotten)."""
        with self._lock:
            sent = self._sent
            while sent and sent[0] <= now_us - _RATE_WINDOW_US:
                sent.popleft()
            if self._latest_sent <= now_us:  # none recorded after now_us
                return len(sent)
            return sum(1 for t in sent if t <= now_us)

    def _rules(self, instrument: str) -> InstrumentRules:
        try:
            return self.rules[instrument]
        except KeyError:
            raise KeyError(f"no instrument rules for {instrument}") from None
