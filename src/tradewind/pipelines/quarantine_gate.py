"""The quarantine ratio gate of scheduled ingestion: each batch's quarantined rows counted by
reason, and an error naming the batches that quarantined more than a job allows.

The gate runs after a batch is committed: its good rows are stored and its bad rows are in
the quarantine (inspect them with ``tradewind data quarantine --batch N``), so failing a job loses
nothing and a retry duplicates nothing."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from tradewind.storage.schema import QuarantineRow

_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")
_PAREN = re.compile(r"\s*\([^)]*\d[^)]*\)")  # particulars: (2024-01-02 ...)


def reason_kind(reason: str) -> str:
    """A reason without its row's particulars (``duplicate of line 7 (2024-01-02...)`` ->
    ``duplicate of line N``), so that reasons can be counted."""
    return _NUMBER.sub("N", _PAREN.sub("", reason)).strip()


def reason_counts(engine: Engine, batch_id: int) -> dict[str, int]:
    """How many of the batch's quarantined rows had each kind of reason (a row with several
    reasons counts once for each); conflicts with stored bars are not quarantine."""
    with engine.connect() as conn:
        reasons = conn.scalars(
            select(QuarantineRow.reason).where(
                QuarantineRow.batch_id == batch_id, QuarantineRow.category == "invalid"
            )
        )
        counts = Counter(reason_kind(part) for r in reasons for part in r.split("; "))
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass(frozen=True)
class BatchQuarantine:
    """One committed batch as the gate sees it."""

    batch_id: int
    what: str  # e.g. "EUR_USD M5 bid" or the object's key
    rows_read: int
    inserted: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.quarantined / self.rows_read if self.rows_read else 0.0

    def over(self, limit: float) -> bool:
        return self.quarantined > 0 and self.ratio > limit

    def describe(self) -> str:
        why = ", ".join(f"{k}: {n}" for k, n in self.reasons.items()) or "no reasons recorded"
        return (
            f"{self.what} (batch {self.batch_id}): {self.quarantined} of {self.rows_read} rows "
            f"quarantined ({self.ratio:.1%}) - {why}"
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 6)}


class QuarantineRatioExceeded(RuntimeError):
    """Batches quarantined more than ``limit`` of their rows (they are committed: the good rows
    are stored, the bad ones in the quarantine)."""

    def __init__(self, batches: Iterable[BatchQuarantine], limit: float) -> None:
        self.batches = list(batches)
        self.limit = limit
        lines = "; ".join(b.describe() for b in self.batches)
        super().__init__(
            f"quarantine ratio over {limit:.1%} in {len(self.batches)} batch(es): {lines}"
        )


def check_ratio(batches: Iterable[BatchQuarantine], limit: float) -> None:
    """Raise :class:`QuarantineRatioExceeded` naming every batch over ``limit``."""
    over = [b for b in batches if b.over(limit)]
    if over:
        raise QuarantineRatioExceeded(over, limit)
