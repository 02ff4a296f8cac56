"""The live trader's account lease in the database (``SqlLeaseStore``, the port is
``tradewind.live.lease.LeaseStore``). Plain statements on both databases: an INSERT whose
primary key conflict means "someone holds it", and UPDATEs whose WHERE names the holder they
expect, checked by rowcount (a concurrent takeover makes the other one match no row)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from tradewind.domain.lease import LeaseInfo
from tradewind.storage.schema_lease import LiveLeaseRow

_FIELDS = ("holder", "host", "pid", "acquired_at", "heartbeat_at", "expires_at")


def _values(lease: LeaseInfo) -> dict[str, Any]:
    return {f: getattr(lease, f) for f in _FIELDS}


class SqlLeaseStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, account_id: str) -> LeaseInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(LiveLeaseRow).where(LiveLeaseRow.account_id == account_id)
            ).first()
        if row is None:
            return None
        return LeaseInfo(row.account_id, *(getattr(row, f) for f in _FIELDS))

    def insert(self, lease: LeaseInfo) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(LiveLeaseRow).values(account_id=lease.account_id, **_values(lease))
                )
        except IntegrityError:
            return False
        return True

    def take_over(
        self, lease: LeaseInfo, *, previous_holder: str, expired_before: datetime | None
    ) -> bool:
        where = [
            LiveLeaseRow.account_id == lease.account_id,
            LiveLeaseRow.holder == previous_holder,
        ]
        if expired_before is not None:
            where.append(LiveLeaseRow.expires_at < expired_before)
        with self.engine.begin() as conn:
            done = conn.execute(update(LiveLeaseRow).where(*where).values(**_values(lease)))
            return done.rowcount == 1

    def renew(self, account_id: str, holder: str, now: datetime, expires_at: datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(LiveLeaseRow)
                .where(LiveLeaseRow.account_id == account_id, LiveLeaseRow.holder == holder)
                .values(heartbeat_at=now, expires_at=expires_at)
            )
            return done.rowcount == 1

    def release(self, account_id: str, holder: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                delete(LiveLeaseRow).where(
                    LiveLeaseRow.account_id == account_id, LiveLeaseRow.holder == holder
                )
            )
            return done.rowcount == 1

    def expire(self, account_id: str, at: datetime) -> None:
        """Set a lease's expiry (an operator's or a test's hand on it)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(LiveLeaseRow)
                .where(LiveLeaseRow.account_id == account_id)
                .values(expires_at=at)
            )
