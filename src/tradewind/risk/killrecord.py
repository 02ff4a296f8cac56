"""The kill switch's states, its stored record and the port of the store it lives in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from tradewind.domain.market import utc_seconds_iso


class KillState(StrEnum):
    """ACTIVE trades; REDUCING lets only position-reducing orders through; HALTED nothing."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"

    @property
    def rank(self) -> int:
        """Severity: ACTIVE 0 < REDUCING 1 < HALTED 2 (triggers only ever raise it)."""
        return _RANK[self]


_RANK = {KillState.ACTIVE: 0, KillState.REDUCING: 1, KillState.HALTED: 2}


@dataclass(frozen=True, slots=True)
class KillRecord:
    """The switch of one ``scope`` (an account) as stored: its state, why, when, by whom,
    and the NAV marks drawdown and daily loss are measured from."""

    scope: str
    state: KillState
    reason: str
    changed_at_us: int
    changed_by: str
    peak_nav: float | None = None
    day: str | None = None  # UTC date of day_start_nav, "YYYY-MM-DD"
    day_start_nav: float | None = None

    def describe(self) -> str:
        """The state for a person: ``trading: enabled``, ``trading: reducing only (reason,
        by, since)`` or ``trading: halted (reason, by, since)``, ``since`` the change's UTC
        time. The one wording used wherever the switch is shown as text (never "kill switch
        active", which reads as tripped)."""
        return describe_trading(self.as_json())

    def as_json(self) -> dict[str, Any]:
        """The state for JSON output: ``trading`` is enabled, reducing_only or halted; with
        ``reason``, ``by`` and ``since`` (ISO UTC, "" if never changed)."""
        return {
            "trading": TRADING[self.state],
            "reason": self.reason,
            "by": self.changed_by,
            "since": _iso(self.changed_at_us),
        }


# What each stored state means for trading (the stored values stay "active", ...).
TRADING = {
    KillState.ACTIVE: "enabled",
    KillState.REDUCING: "reducing_only",
    KillState.HALTED: "halted",
}


def describe_trading(shown: dict[str, Any]) -> str:
    """The text of ``KillRecord.as_json`` output (see ``KillRecord.describe``)."""
    trading = shown.get("trading", "")
    if trading == "enabled":
        return "trading: enabled"
    label = trading.replace("_", " ")
    reason, by, since = (shown.get(k) or "-" for k in ("reason", "by", "since"))
    return f"trading: {label} ({reason}, by {by}, since {since})"


def _iso(ts_us: int) -> str:
    return utc_seconds_iso(ts_us) if ts_us else ""


# What a transition's ``trigger`` may be: a rule's limit name, a failed reconcile, a person.
TRIGGERS = (
    "max_drawdown",
    "max_daily_loss",
    "max_reject_streak",
    "max_error_streak",
    "reconcile",
    "operator",
)


@dataclass(frozen=True, slots=True)
class KillTransition:
    """One change of a switch, by a person or a rule: appended to the risk events, never
    overwritten. ``trigger`` names the rule (or "operator": a person); ``limit`` and
    ``value`` are the rule's limit and what it measured (None for a reconcile or a person);
    ``market_time_us`` is the trader's clock at the change (the CLI's: wall time), ``at_us``
    the wall time it was made."""

    scope: str
    from_state: KillState
    to_state: KillState
    by: str
    trigger: str
    reason: str
    market_time_us: int
    at_us: int
    limit: float | None = None
    value: float | None = None

    def detail(self) -> dict[str, Any]:
        """The risk event's structured detail."""
        return {
            "from": self.from_state.value,
            "to": self.to_state.value,
            "by": self.by,
            "trigger": self.trigger,
            "limit": self.limit,
            "value": self.value,
            "market_time_us": self.market_time_us,
        }


class KillSwitchStore(Protocol):
    """Where kill records live (a database table in production)."""

    def load(self, scope: str) -> KillRecord | None: ...

    def save(self, record: KillRecord, events: Sequence[KillTransition] = ()) -> None:
        """Write ``record`` and append ``events`` (the transitions that led to it) together,
        all or nothing, durable before returning."""
        ...


def is_person(by: str) -> bool:
    """Whether ``by`` names a person: not empty and not "system" (the automatic triggers)."""
    return bool(by.strip()) and by.strip().lower() != "system"


def utc_day(ts_us: int) -> str:
    """The UTC date of ``ts_us`` as "YYYY-MM-DD"."""
    return datetime.fromtimestamp(ts_us / 1_000_000, tz=UTC).date().isoformat()
