"""``live_models``: per deployment, the model version it should run and the one it does.

A launch (Airflow, or a person) writes only the desired side (``desire``); the live trader
writes only the live side (``report_live``, and ``refuse`` when a desired model cannot go
live: ``detail`` then says which model and why, and the old one keeps trading). Both are
upserts on the deployment (one row each), so a re-run changes nothing: ``desire`` with the
model already desired leaves the row, its time and its author as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, select
from sqlalchemy.dialects import postgresql, sqlite

from tradewind.storage.schema_platform import LiveModelRow


@dataclass(frozen=True)
class LiveModelState:
    deployment: str
    desired_model: str | None
    desired_at: datetime | None
    desired_by: str
    desired_reason: str
    live_model: str | None
    live_at: datetime | None
    detail: str

    def refused(self, model: str) -> str | None:
        """Why the trader refused ``model`` (its ``detail`` names it first), or None."""
        prefix = f"{model}: "
        return self.detail[len(prefix) :] if self.detail.startswith(prefix) else None

    def to_json(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "desired_model": self.desired_model,
            "desired_at": self.desired_at.isoformat() if self.desired_at else None,
            "desired_by": self.desired_by,
            "desired_reason": self.desired_reason,
            "live_model": self.live_model,
            "live_at": self.live_at.isoformat() if self.live_at else None,
            "detail": self.detail,
        }


def _now() -> datetime:
    return datetime.now(UTC)


def _insert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(LiveModelRow)


_EMPTY = {
    "desired_model": None,
    "desired_at": None,
    "desired_by": "",
    "desired_reason": "",
    "live_model": None,
    "live_at": None,
    "detail": "",
}


class SqlLiveModels:
    """The ``live_models`` table on SQLite or Postgres."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _upsert(
        self,
        deployment: str,
        values: dict[str, Any],
        where: Any = None,
        updates: dict[str, Any] | None = None,
    ) -> bool:
        """Insert the row with ``values`` or update it with ``updates`` (default: ``values``);
        False when ``where`` kept the row as it was. (RETURNING, not ``rowcount``: the
        drivers disagree on it for an upsert.)"""
        with self.engine.begin() as conn:
            stmt = _insert(conn).values(deployment=deployment, **{**_EMPTY, **values})
            stmt = stmt.on_conflict_do_update(
                index_elements=["deployment"],
                set_=values if updates is None else updates,
                where=where,
            ).returning(LiveModelRow.deployment)
            return conn.execute(stmt).first() is not None

    # --- the desired side (a launch) -------------------------------------------------------
    def desire(self, deployment: str, model: str, *, by: str, reason: str = "") -> bool:
        """Set the model ``deployment`` should run; False when it already was the desired one
        (nothing written: its time, author and reason stay)."""
        values = {
            "desired_model": model,
            "desired_at": _now(),
            "desired_by": by,
            "desired_reason": reason,
        }
        changed = LiveModelRow.desired_model.is_distinct_from(model)
        return self._upsert(deployment, values, where=changed)

    # --- the live side (the trader) --------------------------------------------------------
    def report_live(self, deployment: str, model: str) -> None:
        """``deployment`` runs ``model`` from now on; a refusal stays in ``detail`` while the
        refused model is still the desired one."""
        refusal_stands = LiveModelRow.desired_model.is_not(None) & (
            LiveModelRow.desired_model != model
        )
        values = {"live_model": model, "live_at": _now()}
        detail = case((refusal_stands, LiveModelRow.detail), else_="")
        self._upsert(deployment, values, updates={**values, "detail": detail})

    def refuse(self, deployment: str, model: str, reason: str) -> None:
        """``model`` cannot go live on ``deployment``: ``reason``, kept in ``detail``."""
        self._upsert(deployment, {"detail": f"{model}: {reason}"})

    # --- reads ------------------------------------------------------------------------------
    def desired(self, deployments: Sequence[str]) -> dict[str, str]:
        """The desired model of each of ``deployments`` that has one (one indexed read)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(LiveModelRow.deployment, LiveModelRow.desired_model).where(
                    LiveModelRow.deployment.in_(list(deployments)),
                    LiveModelRow.desired_model.is_not(None),
                )
            ).all()
        return {d: m for d, m in rows if m is not None}

    def get(self, deployment: str) -> LiveModelState | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(LiveModelRow).where(LiveModelRow.deployment == deployment)
            ).first()
        if row is None:
            return None
        r = row
        return LiveModelState(
            r.deployment,
            r.desired_model,
            r.desired_at,
            r.desired_by,
            r.desired_reason,
            r.live_model,
            r.live_at,
            r.detail,
        )
