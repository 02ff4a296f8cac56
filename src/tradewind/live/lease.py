"""One trader per broker account: a lease in the database, renewed by a heartbeat.

A trader takes its account's lease before it reconciles or trades (``Lease.acquire``): a new
row, or a takeover of a lease that has expired or whose holder is a process on this host that
is no longer alive (a crash restart need not wait out the TTL). Anything else refuses with
``LeaseHeld``, naming the holder. While it trades it renews the lease every ``renew_every_s``
(``Lease.renew``); a renewal finds out whether the lease is still its own, and raises
``LeaseLost`` when another process has taken it over (or when it could not renew before
the lease ran out): the trader stops trading at once. A graceful stop releases it; a process
killed with -9 leaves it until it expires or until a restart on the same host sees it dead.

Expiry times are the holders' wall clocks (UTC): hosts sharing an account need their clocks
in sync to well within the TTL.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from tradewind.domain.lease import LeaseInfo

log = logging.getLogger(__name__)
DEFAULT_TTL_S = 30.0
__all__ = ["Lease", "LeaseHeld", "LeaseInfo", "LeaseLost", "LeaseStore", "pid_alive"]


class LeaseStore(Protocol):
    """Where leases live (``tradewind.storage.lease.SqlLeaseStore``). Each call is one
    atomic statement or transaction."""

    def get(self, account_id: str) -> LeaseInfo | None: ...

    def insert(self, lease: LeaseInfo) -> bool:
        """A lease for an account that has none; False when there is one already."""
        ...

    def take_over(
        self, lease: LeaseInfo, *, previous_holder: str, expired_before: datetime | None
    ) -> bool:
        """Replace ``previous_holder``'s lease with ``lease`` if that holder still has it
        (and, when ``expired_before`` is given, only if it expired before then)."""
        ...

    def renew(self, account_id: str, holder: str, now: datetime, expires_at: datetime) -> bool:
        """Move the holder's heartbeat and expiry on; False when it is not the holder."""
        ...

    def release(self, account_id: str, holder: str) -> bool: ...


class LeaseHeld(RuntimeError):
    """Another process holds the account's lease."""

    def __init__(self, current: LeaseInfo, now: datetime) -> None:
        self.current = current
        left = max(0.0, (current.expires_at - now).total_seconds())
        since = current.acquired_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        super().__init__(
            f"account {current.account_id} is already traded by host {current.host} "
            f"pid {current.pid} since {since} (lease expires in {left:.0f} s)"
        )


class LeaseLost(RuntimeError):
    """This process no longer holds the account's lease: it must stop trading."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Lease:
    """This process's claim on one account."""

    def __init__(
        self,
        store: LeaseStore,
        account_id: str,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        renew_every_s: float | None = None,
        host: str | None = None,
        pid: int | None = None,
        clock: Callable[[], datetime] = _utcnow,
        alive: Callable[[int], bool] = pid_alive,
    ) -> None:
        self.store = store
        self.account_id = account_id
        self.ttl = timedelta(seconds=ttl_s)
        self.renew_every_s = renew_every_s if renew_every_s is not None else ttl_s / 3.0
        self.host = host or socket.gethostname()
        self.pid = pid if pid is not None else os.getpid()
        self.holder = str(uuid.uuid4())
        self.clock = clock
        self.alive = alive
        self.held = False
        self.expires_at: datetime | None = None
        self._next_renew = 0.0

    def _info(self, now: datetime) -> LeaseInfo:
        return LeaseInfo(
            self.account_id, self.holder, self.host, self.pid, now, now, now + self.ttl
        )

    def acquire(self) -> Lease:
        """Take the lease or raise ``LeaseHeld`` naming who has it."""
        for _ in range(5):  # a lease released between our insert and our read: try again
            now = self.clock()
            mine = self._info(now)
            if self.store.insert(mine):
                return self._got(mine)
            current = self.store.get(self.account_id)
            if current is None:
                continue
            if current.expires_at < now:
                took = self.store.take_over(
                    mine, previous_holder=current.holder, expired_before=now
                )
                why = "expired"
            elif (
                current.host == self.host
                and current.pid != self.pid
                and not self.alive(current.pid)
            ):
                took = self.store.take_over(
                    mine, previous_holder=current.holder, expired_before=None
                )
                why = f"its holder pid {current.pid} on this host is dead"
            else:
                raise LeaseHeld(current, now)
            if took:
                log.warning(
                    "account %s: took over the lease of host %s pid %s (%s)",
                    self.account_id,
                    current.host,
                    current.pid,
                    why,
                )
                return self._got(mine)
        current = self.store.get(self.account_id)
        if current is not None:
            raise LeaseHeld(current, self.clock())
        raise LeaseLost(f"account {self.account_id}: could not take the lease")

    def _got(self, info: LeaseInfo) -> Lease:
        self.held = True
        self.expires_at = info.expires_at
        self._next_renew = time.monotonic() + self.renew_every_s
        return self

    def renew(self, force: bool = False) -> None:
        """The heartbeat (cheap to call often: it writes every ``renew_every_s``). Raises
        ``LeaseLost`` when the lease is no longer this process's."""
        if not self.held:
            raise LeaseLost(f"account {self.account_id}: the lease is not held")
        if not force and time.monotonic() < self._next_renew:
            return
        now = self.clock()
        expires = now + self.ttl
        try:
            ok = self.store.renew(self.account_id, self.holder, now, expires)
        except Exception as exc:  # the database is away: keep trying until the lease runs out
            if self.expires_at is not None and now >= self.expires_at:
                self.held = False
                raise LeaseLost(
                    f"account {self.account_id}: the lease expired before it could be renewed "
                    f"({type(exc).__name__}: {exc})"
                ) from exc
            log.warning("account %s: lease renewal failed, retrying: %s", self.account_id, exc)
            self._next_renew = time.monotonic() + min(1.0, self.renew_every_s)
            return
        if not ok:
            self.held = False
            current = self.store.get(self.account_id)
            who = (
                f"host {current.host} pid {current.pid} holds it since "
                f"{current.acquired_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
                if current is not None
                else "nobody holds it now"
            )
            raise LeaseLost(f"account {self.account_id}: lease lost, {who}")
        self.expires_at = expires
        self._next_renew = time.monotonic() + self.renew_every_s

    def release(self) -> None:
        """Give the lease up (a graceful stop). Does nothing if it is not held."""
        if not self.held:
            return
        self.held = False
        try:
            self.store.release(self.account_id, self.holder)
        except Exception as exc:  # it expires by itself
            log.warning("account %s: lease release failed: %s", self.account_id, exc)
