"""The champion/challenger decisions (``model_promotions``), one per model and run key.

``record`` inserts a decision unless one is already stored for its model and run key, and
returns the stored one either way: a re-run of the same job (or two racing) keeps the first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from tradewind.storage.schema_platform import ModelPromotionRow

DECISIONS = ("promoted", "rejected")


@dataclass(frozen=True)
class Promotion:
    model_name: str
    run_key: str
    challenger_version: str
    champion_version: str | None  # None: there was no champion
    decision: str  # promoted | rejected
    reason: str
    gate: dict[str, Any]
    challenger_metrics: dict[str, Any]
    champion_metrics: dict[str, Any]
    window_start: datetime
    window_end: datetime
    challenger_run_id: str | None
    champion_run_id: str | None
    decided_at: datetime

    @property
    def promoted(self) -> bool:
        return self.decision == "promoted"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("window_start", "window_end", "decided_at"):
            out[key] = out[key].isoformat()
        return out


_FIELDS = tuple(Promotion.__dataclass_fields__)


def get(engine: Engine, model_name: str, run_key: str) -> Promotion | None:
    """The decision stored for ``model_name`` and ``run_key``, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*(getattr(ModelPromotionRow, f) for f in _FIELDS)).where(
                ModelPromotionRow.model_name == model_name,
                ModelPromotionRow.run_key == run_key,
            )
        ).first()
    return Promotion(**row._asdict()) if row is not None else None


def record(engine: Engine, promotion: Promotion) -> tuple[Promotion, bool]:
    """Store ``promotion`` unless its (model, run key) has a decision; returns the stored
    decision and whether it is this one (False: an earlier one was kept)."""
    if promotion.decision not in DECISIONS:
        raise ValueError(f"decision {promotion.decision!r} is not one of {', '.join(DECISIONS)}")
    stored = get(engine, promotion.model_name, promotion.run_key)
    if stored is not None:
        return stored, False
    try:
        with engine.begin() as conn:
            conn.execute(insert(ModelPromotionRow).values(**asdict(promotion)))
    except IntegrityError:  # another run stored its decision first
        stored = get(engine, promotion.model_name, promotion.run_key)
        if stored is None:
            raise
        return stored, False
    got = get(engine, promotion.model_name, promotion.run_key)
    assert got is not None
    return got, True


def history(engine: Engine, model_name: str) -> list[Promotion]:
    """Every decision about ``model_name``, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(*(getattr(ModelPromotionRow, f) for f in _FIELDS))
            .where(ModelPromotionRow.model_name == model_name)
            .order_by(ModelPromotionRow.decided_at, ModelPromotionRow.id)
        ).all()
    return [Promotion(**r._asdict()) for r in rows]
