"""Ticks from the price stream: parse v20 PRICE messages, drop the bad ones before they count.

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
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from tradewind.broker.times import v20_time_us
from tradewind.domain.ticks import Tick

log = logging.getLogger(__name__)

NONFINITE = "nonfinite"
NONPOSITIVE = "nonpositive"
CROSSED = "crossed"
OUT_OF_ORDER = "out_of_order"
DUPLICATE = "duplicate"
REASONS = (NONFINITE, NONPOSITIVE, CROSSED, OUT_OF_ORDER, DUPLICATE)


class RateLimitedLog:
    """WARNING lines at most once per ``every_s`` per key: the first at once, later ones
    summarised ("N more like it") in the next line that gets through."""

    def __init__(
        self,
        logger: logging.Logger,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._every_s = every_s
        self._clock = clock
        self._next: dict[Hashable, float] = {}
        self._suppressed: dict[Hashable, int] = {}

    def warning(self, key: Hashable, msg: str, *args: Any) -> None:
        now = self._clock()
        if key in self._next and now < self._next[key]:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        more = self._suppressed.pop(key, 0)
        if more:
            msg, args = msg + " (and %d more like it since the last report)", (*args, more)
        self._logger.warning(msg, *args)
        self._next[key] = now + self._every_s


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


_PARSE_LOG = RateLimitedLog(log)
parse_dropped: dict[str, int] = {}  # malformed messages by reason, for metrics


def tick_from_v20(msg: Any) -> Tick | None:
    """A v20 ``PRICE`` message (stream or ``/pricing``) as a ``Tick``: best bid (the highest of
    ``bids``), best ask (the lowest of ``asks``), ``time`` (RFC 3339 with up to nine fraction
    digits, or UNIX seconds) in µs, ``tradeable``. Heartbeats are None quietly; a malformed
    message is None with its reason logged (rate-limited) and counted in ``parse_dropped``,
    never an exception: one bad message must not end the price stream."""
    if not isinstance(msg, Mapping):
        return _malformed("not_object", "not an object", msg)
    kind = msg.get("type", "PRICE")
    if kind == "HEARTBEAT":
        return None
    if kind != "PRICE":
        return _malformed("type", f"type {kind!r}", msg)
    instrument = msg.get("instrument")
    if not isinstance(instrument, str) or not instrument:
        return _malformed("instrument", "no instrument", msg)
    ts_us = v20_time_us(msg.get("time"))
    if ts_us is None:
        return _malformed("time", f"bad time {msg.get('time')!r}", msg)
    bids, asks = _prices(msg.get("bids")), _prices(msg.get("asks"))
    if not bids or not asks:
        return _malformed("prices", "no or malformed bids/asks", msg)
    tradeable = msg.get("tradeable", msg.get("status", "tradeable") == "tradeable")
    if not isinstance(tradeable, bool):
        return _malformed("tradeable", f"tradeable {tradeable!r}", msg)
    return Tick(instrument, ts_us, _best(bids, max), _best(asks, min), tradeable)


def _best(prices: list[float], pick: Callable[[list[float]], float]) -> float:
    """The best level; NaN when any level is not finite (max/min of NaN depends on order),
    and a non-positive level itself when there is one: a book with a zero or negative price
    in it is a bad tick, which the ``TickFilter`` drops and counts, not something to mask by
    picking around it."""
    if not all(math.isfinite(p) for p in prices):
        return math.nan
    bad = [p for p in prices if p <= 0]
    return bad[0] if bad else pick(prices)


def _prices(levels: Any) -> list[float] | None:
    """The ``price`` of each ``{price, liquidity}`` level; None when any is malformed. NaN and
    non-positive prices parse (the ``TickFilter`` drops and counts them)."""
    if not isinstance(levels, list):
        return None
    out = []
    for level in levels:
        price = level.get("price") if isinstance(level, Mapping) else None
        if isinstance(price, bool) or not isinstance(price, str | int | float):
            return None
        try:
            out.append(float(price))
        except ValueError:
            return None
    return out


def _malformed(key: str, reason: str, msg: Any) -> None:
    parse_dropped[key] = parse_dropped.get(key, 0) + 1
    _PARSE_LOG.warning(key, "ignored price message (%s): %.200r", reason, msg)
    return None
