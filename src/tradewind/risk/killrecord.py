"""The kill switch's states, its stored record and the port of the store it lives in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol


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


class KillSwitchStore(Protocol):
    """Where kill records live (a database table in production)."""

    def load(self, scope: str) -> KillRecord | None: ...

    def save(self, record: KillRecord) -> None: ...  # durable before returning


def is_person(by: str) -> bool:
    """Whether ``by`` names a person: not empty and not "system" (the automatic triggers)."""
    return bool(by.strip()) and by.strip().lower() != "system"


def utc_day(ts_us: int) -> str:
    """The UTC date of ``ts_us`` as "YYYY-MM-DD"."""
    return datetime.fromtimestamp(ts_us / 1_000_000, tz=UTC).date().isoformat()
