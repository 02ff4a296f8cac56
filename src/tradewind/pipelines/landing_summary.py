"""What a landing-bucket run did, as JSON for a job's return value, and the error that fails
the job when objects were rejected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tradewind.pipelines.quarantine_gate import BatchQuarantine


@dataclass(frozen=True)
class LandedObject:
    key: str
    outcome: str  # imported | already-imported | rejected
    moved_to: str
    batch: BatchQuarantine | None
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "outcome": self.outcome,
            "moved_to": self.moved_to,
            "reason": self.reason,
            "batch": self.batch.to_json() if self.batch else None,
        }


@dataclass
class LandingSummary:
    bucket: str
    max_quarantine_ratio: float
    objects: list[LandedObject] = field(default_factory=list)

    @property
    def rejected(self) -> list[LandedObject]:
        return [o for o in self.objects if o.outcome == "rejected"]

    @property
    def over_ratio(self) -> list[LandedObject]:
        return [o for o in self.rejected if o.batch and o.batch.over(self.max_quarantine_ratio)]

    def to_json(self) -> dict[str, Any]:
        batches = [o.batch for o in self.objects if o.batch]
        return {
            "bucket": self.bucket,
            "objects": len(self.objects),
            "imported": sum(o.outcome != "rejected" for o in self.objects),
            "rejected": len(self.rejected),
            "inserted": sum(b.inserted for b in batches),
            "quarantined": sum(b.quarantined for b in batches),
            "batch_ids": [b.batch_id for b in batches],
            "details": [o.to_json() for o in self.objects],
        }


class LandingRejected(RuntimeError):
    """Objects of the landing bucket were rejected (each moved to ``rejected/`` with its
    reason; rows of a batch over the quarantine ratio are stored, its bad rows quarantined)."""

    def __init__(self, rejected: list[LandedObject]) -> None:
        self.rejected = rejected
        lines = "; ".join(f"{o.key} -> {o.moved_to}: {o.reason}" for o in rejected)
        super().__init__(f"landing bucket: {len(rejected)} object(s) rejected: {lines}")


def check_landing(summary: LandingSummary, *, fail_on_rejected: bool = True) -> None:
    """Raise :class:`LandingRejected` when a batch was over the quarantine ratio, or, with
    ``fail_on_rejected``, when any object was rejected."""
    if summary.over_ratio or (fail_on_rejected and summary.rejected):
        raise LandingRejected(summary.rejected)
