"""Risk state in the database: the latched kill switch (``SqlKillSwitchStore``) and the log of
risk decisions (``record_risk_event``). A kill switch row is written before ``trip`` returns,
so a crash right after a trip cannot forget it, and in the same transaction as the risk events
of the changes that led to it (check ``KILL_TRANSITION``): a trip is never stored without its
event, and each change is its own row, never overwritten by the next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from tradewind.risk.killswitch import KillRecord, KillState, KillTransition
from tradewind.storage.schema_live import KillSwitchRow, RiskEventRow, latest_rows
from tradewind.storage.types import datetime_to_us, us_to_datetime

KILL_TRANSITION = "kill_transition"  # the risk events' check of a kill switch change


class SqlKillSwitchStore:
    """``tradewind.risk.killswitch.KillSwitchStore`` on SQLAlchemy."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, scope: str) -> KillRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(KillSwitchRow).where(KillSwitchRow.scope == scope)).first()
        if row is None:
            return None
        return KillRecord(
            scope=row.scope,
            state=KillState(row.state),
            reason=row.reason,
            changed_at_us=datetime_to_us(row.changed_at),
            changed_by=row.changed_by,
            peak_nav=row.peak_nav,
            day=row.day,
            day_start_nav=row.day_start_nav,
        )

    def save(self, record: KillRecord, events: Sequence[KillTransition] = ()) -> None:
        values = {
            "state": record.state.value,
            "reason": record.reason,
            "changed_at": us_to_datetime(record.changed_at_us),
            "changed_by": record.changed_by,
            "peak_nav": record.peak_nav,
            "day": record.day,
            "day_start_nav": record.day_start_nav,
        }
        with self.engine.begin() as conn:
            done = conn.execute(
                update(KillSwitchRow).where(KillSwitchRow.scope == record.scope).values(**values)
            )
            if done.rowcount == 0:
                conn.execute(insert(KillSwitchRow).values(scope=record.scope, **values))
            for event in events:
                _insert_event(
                    conn,
                    scope=event.scope,
                    check=KILL_TRANSITION,
                    approved=event.to_state is KillState.ACTIVE,
                    reason=event.reason,
                    detail=event.detail(),
                    at=us_to_datetime(event.at_us),
                )

    def all(self) -> list[KillRecord]:
        with self.engine.connect() as conn:
            scopes = conn.execute(select(KillSwitchRow.scope).order_by(KillSwitchRow.scope)).all()
        return [r for (s,) in scopes if (r := self.load(s)) is not None]


def record_risk_event(
    engine: Engine,
    *,
    scope: str,
    check: str,
    approved: bool,
    reason: str,
    detail: dict[str, Any],
    deployment: str = "",
    at: datetime | None = None,
) -> None:
    """One risk decision (a refusal or an amended order) for the audit and dashboards. Kill
    switch changes are written by ``SqlKillSwitchStore.save``."""
    with engine.begin() as conn:
        _insert_event(
            conn,
            scope=scope,
            check=check,
            approved=approved,
            reason=reason,
            detail=detail,
            deployment=deployment,
            at=at,
        )


def _insert_event(
    conn: Connection,
    *,
    scope: str,
    check: str,
    approved: bool,
    reason: str,
    detail: dict[str, Any],
    deployment: str = "",
    at: datetime | None = None,
) -> None:
    conn.execute(
        insert(RiskEventRow).values(
            at=at or datetime.now(UTC),
            scope=scope,
            deployment=deployment,
            check=check,
            approved=approved,
            reason=reason,
            detail=detail,
        )
    )


def risk_events(engine: Engine, scope: str, limit: int = 100) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = latest_rows(conn, RiskEventRow, RiskEventRow.scope == scope, RiskEventRow.id, limit)
    return [
        {
            "at": r.at.isoformat(),
            "deployment": r.deployment,
            "check": r.check,
            "approved": r.approved,
            "reason": r.reason,
            "detail": r.detail,
        }
        for r in rows
    ]
