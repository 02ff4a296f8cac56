"""The kill switch: a latched, persisted trading state that only a person can lower.

Triggers (daily loss -> REDUCING; drawdown, reject and error streaks, a failed reconcile ->
HALTED; an operator) only escalate, and every change is saved before ``trip`` returns, so a
crash or restart comes back in the same state. Nothing lowers it by itself, not a new day nor
a restart: ``reset`` needs a person's name (``tradewind live resume``).

Every change, by a rule or a person, is a ``KillTransition`` (from, to, by, trigger, limit,
value, market and wall time) that the store appends in the same write as the record: a trip
is never stored without its event, and a later trip never overwrites an earlier one's.

The peak NAV and the UTC day's first NAV live in the record, so a restart keeps measuring from
the same marks. Streak counters are in memory only: a restart starts them at zero.

Another process (the ``tradewind live`` CLI) may halt or reset the same scope while a trader
runs. Before each save the switch re-reads the store and adopts what another writer put there
(``adopt``): a higher state always, a lower one only from a person's reset. So a halt made
elsewhere is never overwritten by this process's next save.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable

from tradewind.config.risk import RiskLimits
from tradewind.risk.killrecord import (
    KillRecord,
    KillState,
    KillSwitchStore,
    KillTransition,
    is_person,
    utc_day,
)

__all__ = ["KillRecord", "KillState", "KillSwitch", "KillSwitchStore", "KillTransition"]

log = logging.getLogger("tradewind.risk")


class KillSwitch:
    """The kill state of ``scope``, loaded from ``store`` (ACTIVE if never stored).

    ``limits`` None (the CLI's halt/resume) leaves only ``trip`` and ``reset``: NAV marks are
    kept but trip nothing, streaks never trip. ``wall_us`` is the wall clock stamped on
    each transition (``now_us`` arguments are market time). Thread-safe."""

    def __init__(
        self,
        store: KillSwitchStore,
        scope: str,
        limits: RiskLimits | None,
        *,
        wall_us: Callable[[], int] = lambda: time.time_ns() // 1000,
    ) -> None:
        self._store = store
        self._limits = limits
        self._wall_us = wall_us
        self._events: list[KillTransition] = []  # transitions the store does not have yet
        self._lock = threading.RLock()
        loaded = store.load(scope)
        self._record = loaded or KillRecord(scope, KillState.ACTIVE, "", 0, "system")
        self._synced = loaded  # the record as last read from or written to the store
        self._dirty = False  # a change of ours the store does not have (its save failed)
        self._rejects = self._errors = 0
        if self._record.state is not KillState.ACTIVE:
            log.warning("kill switch %s is latched: %s", scope, _said(self._record))

    @property
    def state(self) -> KillState:
        return self._record.state

    @property
    def record(self) -> KillRecord:
        return self._record

    def trip(
        self,
        state: KillState,
        reason: str,
        now_us: int,
        by: str = "system",
        *,
        trigger: str | None = None,
        limit: float | None = None,
        value: float | None = None,
    ) -> bool:
        """Escalate to ``state``; True if the state changed, False if it already was there or
        higher. The new state holds in memory even if saving it fails (the error is raised;
        the record and its transition are written again on the next refresh). ``trigger``
        (default "operator" for a person), ``limit`` and ``value`` go into the transition."""
        state = KillState(state)
        if state is KillState.ACTIVE:
            raise ValueError("trip only escalates; use reset (a person) to return to active")
        with self._lock:
            self._sync()
            if state.rank <= self._record.state.rank:
                return False
            self._transition(state, by, trigger, reason, now_us, limit, value)
            self._record = dataclasses.replace(
                self._record, state=state, reason=reason, changed_at_us=now_us, changed_by=by
            )
            log.warning("kill switch %s -> %s by %s: %s", self._record.scope, state, by, reason)
            self._save()
            return True

    def reset(self, by: str, reason: str, now_us: int) -> None:
        """Back to ACTIVE, by a person. The streaks restart at zero, and so do the NAV marks:
        the next NAV is the new peak and the day's start (else the drawdown that halted
        trading would halt it again at once)."""
        if not is_person(by):
            raise ValueError(
                f"kill switch reset needs a person: `by` must name who resets it, got {by!r}"
            )
        who = by.strip()
        with self._lock:
            previous = self._record.state
            self._transition(KillState.ACTIVE, who, "operator", reason, now_us, None, None)
            self._record = KillRecord(
                self._record.scope, KillState.ACTIVE, reason or f"reset by {who}", now_us, who
            )
            self._rejects = self._errors = 0
            log.warning(
                "kill switch %s reset from %s by %s: %s", self._record.scope, previous, who, reason
            )
            self._save()

    def adopt(self, stored: KillRecord) -> bool:
        """Take ``stored`` if another process wrote it: a higher or equal state always, a
        lower one only from a person. True if this switch changed."""
        if stored.scope != self._record.scope:
            raise ValueError(f"kill record of {stored.scope} offered to {self._record.scope}")
        with self._lock:
            if stored == self._record or stored == self._synced:
                self._synced = stored  # nobody else wrote; ours is the same or newer
                if self._dirty:
                    self._save()  # an earlier save of ours failed: write it again
                return False
            self._synced = stored
            lower = stored.state.rank < self._record.state.rank
            if self._events and not (lower and not is_person(stored.changed_by)):
                # ours was never stored and another writer's record replaces it
                log.warning(
                    "kill switch %s: %d unsaved transition(s) dropped for %s",
                    stored.scope,
                    len(self._events),
                    _said(stored),
                )
                self._events.clear()
            if lower and not is_person(stored.changed_by):
                log.warning("kill switch %s: ignoring lower %s", stored.scope, _said(stored))
                self._save()
                return False
            if lower:
                self._rejects = self._errors = 0
            self._record, self._dirty = stored, False
            log.warning("kill switch %s: adopted %s", stored.scope, _said(stored))
            return True

    def refresh(self) -> bool:
        """Re-read the store and ``adopt`` what is there."""
        with self._lock:
            stored = self._store.load(self._record.scope)
            if stored is not None:
                return self.adopt(stored)
            if self._dirty:
                self._save()
            return False

    def on_nav(self, nav: float, now_us: int) -> None:
        """Track the peak and the UTC day's first NAV; daily loss >= max_daily_loss trips
        REDUCING, drawdown >= max_drawdown trips HALTED. A non-finite NAV is ignored."""
        if not math.isfinite(nav):
            log.warning("kill switch %s: ignoring NAV %s", self._record.scope, nav)
            return
        with self._lock:
            day = utc_day(now_us)
            marked = _marked(self._record, nav, day)
            if marked != self._record:
                self._sync()  # a reset elsewhere clears the marks: mark on top of it
                self._record = _marked(self._record, nav, day)
                self._save()
            rec = self._record
            peak = nav if rec.peak_nav is None else rec.peak_nav
            start = nav if rec.day_start_nav is None else rec.day_start_nav
            lim = self._limits
            if lim is None:
                return
            drawdown = (peak - nav) / peak if peak > 0 else 0.0
            if lim.max_drawdown is not None and peak > 0 and drawdown >= lim.max_drawdown:
                self.trip(
                    KillState.HALTED,
                    f"drawdown {drawdown:.2%} from peak NAV {peak:.2f} "
                    f"(NAV {nav:.2f}); limit {lim.max_drawdown:.2%}",
                    now_us,
                    trigger="max_drawdown",
                    limit=lim.max_drawdown,
                    value=drawdown,
                )
            if lim.max_daily_loss is not None and start - nav >= lim.max_daily_loss:
                self.trip(
                    KillState.REDUCING,
                    f"daily loss {start - nav:.2f} from the day's first NAV {start:.2f} "
                    f"(NAV {nav:.2f}); limit {lim.max_daily_loss:.2f}",
                    now_us,
                    trigger="max_daily_loss",
                    limit=lim.max_daily_loss,
                    value=start - nav,
                )

    def on_reject(self, now_us: int, reason: str) -> None:
        """A broker reject; ``max_reject_streak`` in a row trips HALTED."""
        with self._lock:
            self._rejects += 1
            self._streak("rejects", self._rejects, "max_reject_streak", now_us, reason)

    def on_error(self, now_us: int, reason: str) -> None:
        """A failed or unknown-outcome order; ``max_error_streak`` in a row trips HALTED."""
        with self._lock:
            self._errors += 1
            self._streak("errors", self._errors, "max_error_streak", now_us, reason)

    def on_accept(self) -> None:
        """An order the broker took: both streaks end."""
        with self._lock:
            self._rejects = self._errors = 0

    def on_reconcile_failed(self, reason: str, now_us: int) -> None:
        """Our books and the broker's disagree: nothing may trade until a person looks."""
        self.trip(KillState.HALTED, f"reconcile failed: {reason}", now_us, trigger="reconcile")

    def _streak(self, what: str, count: int, limit_name: str, now_us: int, reason: str) -> None:
        limit = getattr(self._limits, limit_name, None)
        if limit is not None and count >= limit:
            reason = f"{count} {what} in a row; limit {limit}; last: {reason}"
            self.trip(
                KillState.HALTED, reason, now_us, trigger=limit_name, limit=limit, value=count
            )

    def _sync(self) -> None:
        """Adopt what another process saved, before saving over it. A store that cannot be
        read does not stop a trip: the state still latches here."""
        try:
            self.refresh()
        except Exception:
            log.exception("kill switch %s: could not re-read the store", self._record.scope)

    def _transition(
        self,
        to: KillState,
        by: str,
        trigger: str | None,
        reason: str,
        now_us: int,
        limit: float | None,
        value: float | None,
    ) -> None:
        """Queue the change from the current state to ``to`` for the next save."""
        self._events.append(
            KillTransition(
                scope=self._record.scope,
                from_state=self._record.state,
                to_state=to,
                by=by,
                trigger=trigger or ("operator" if is_person(by) else "system"),
                reason=reason,
                market_time_us=now_us,
                at_us=self._wall_us(),
                limit=limit,
                value=value,
            )
        )

    def _save(self) -> None:
        """Write the record with the queued transitions, in one store write."""
        self._dirty = True
        self._store.save(self._record, tuple(self._events))
        self._synced, self._dirty = self._record, False
        self._events.clear()


def _marked(rec: KillRecord, nav: float, day: str) -> KillRecord:
    """``rec`` with ``nav`` taken into the peak and, on a new UTC day, as the day's start."""
    peak = nav if rec.peak_nav is None else max(rec.peak_nav, nav)
    new_day = rec.day != day or rec.day_start_nav is None
    start = nav if new_day else rec.day_start_nav
    if (peak, day, start) == (rec.peak_nav, rec.day, rec.day_start_nav):
        return rec
    return dataclasses.replace(rec, peak_nav=peak, day=day, day_start_nav=start)


def _said(rec: KillRecord) -> str:
    return f"{rec.state.value} by {rec.changed_by} at {rec.changed_at_us}: {rec.reason}"
