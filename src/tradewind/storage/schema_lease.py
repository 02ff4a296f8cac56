"""The live trader's single-writer lease per broker account (migration 0005).

One row per account: the process that may trade it (``holder``, a uuid made at start, with
its host and pid), when it took the lease, its last heartbeat and when the lease runs out
unless renewed. Taking an expired lease, or one whose holder is a dead process on the same
host, is one conditional UPDATE that names the holder it replaces, so two contenders can
never both win.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.storage.schema import Base


class LiveLeaseRow(Base):
    __tablename__ = "live_leases"
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(36))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]
