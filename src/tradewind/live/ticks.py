"""Ticks from the price stream: drop the bad ones before they count.

The broker adapter makes the ticks (``tradewind.broker.mapping.tick_from_v20`` for v20, which
also drops and counts messages it cannot parse); this filter judges their values.

A bad tick in a bar would move its high or low (and so every range feature) for good, and a
NaN would poison the features; a stale or repeated one would misstate time. So the live path
keeps only ticks that are finite, positive, not crossed (``bid > ask``; ``bid == ask`` is a
valid zero-spread quote) and strictly later than the instrument's last accepted tick. Each
drop is counted by reason (``TickFilter.dropped``) and logged at WARNING with the instrument,
the time and the reason; logging is rate-limited per instrument and reason (the first at
once, then at most one line per ``log_every_s`` saying how many were suppressed), so a burst
of bad prices cannot flood the log. Non-tradeable ticks pass: risk refuses orders on them, the
bars still want the price.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from tradewind.broker.limits import RateLimitedLog
from tradewind.domain.ticks import Tick

log = logging.getLogger(__name__)

NONFINITE = "nonfinite"
NONPOSITIVE = "nonpositive"
CROSSED = "crossed"
OUT_OF_ORDER = "out_of_order"
DUPLICATE = "duplicate"
REASONS = (NONFINITE, NONPOSITIVE, CROSSED, OUT_OF_ORDER, DUPLICATE)


class TickFilter:
    """Accepts good ticks and drops bad ones (see the module docstring), per instrument."""

    def __init__(
        self, *, log_every_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.dropped: dict[str, int] = {}
        self._last_us: dict[str, int] = {}
        self._log = RateLimitedLog(log, log_every_s, clock)

    def accept(self, tick: Tick) -> Tick | None:
        """``tick`` when it is good (and now the instrument's latest), else None."""
        reason = self._reason(tick)
        if reason is None:
            self._last_us[tick.instrument] = tick.ts_us
            return tick
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        self._log.warning(
            (tick.instrument, reason),
            "dropped tick %s ts_us=%d bid=%r ask=%r: %s",
            tick.instrument,
            tick.ts_us,
            tick.bid,
            tick.ask,
            reason,
        )
        return None

    __call__ = accept

    def _reason(self, tick: Tick) -> str | None:
        bid, ask = tick.bid, tick.ask
        if not (math.isfinite(bid) and math.isfinite(ask)):
            return NONFINITE
        if bid <= 0 or ask <= 0:
            return NONPOSITIVE
        if bid > ask:
            return CROSSED
        last = self._last_us.get(tick.instrument)
        if last is not None and tick.ts_us < last:
            return OUT_OF_ORDER
        if last is not None and tick.ts_us == last:
            return DUPLICATE
        return None
