"""A live trader's lease on a broker account, as stored (see ``tradewind.live.lease``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """Who may trade ``account_id``: the process ``holder`` (a uuid) on ``host`` with
    ``pid``, since ``acquired_at``, last heard of at ``heartbeat_at``; the lease is void
    after ``expires_at`` unless renewed."""

    account_id: str
    holder: str
    host: str
    pid: int
    acquired_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
