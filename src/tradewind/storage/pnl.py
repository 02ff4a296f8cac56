"""The daily P&L tables (``pnl_daily``, ``pnl_checks``) and the reads of the OMS's books the
reconciliation needs: its fills of a day, its positions as of an instant, the deployment of
each order, and the live trader's last P&L snapshot before an instant.

``write_day`` replaces a day of an account in one transaction: rows of the day that no longer
apply are deleted, the others upserted by (day, account, deployment, instrument), and the
day's check upserted with them, so a second run replaces the first and never duplicates it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, not_, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from tradewind.domain.orders import FillRecord
from tradewind.storage.oms import fill_record
from tradewind.storage.schema_live import (
    LivePnlRow,
    OmsFillRow,
    OmsFinancingRow,
    OmsOrderRow,
    OmsPositionRow,
)
from tradewind.storage.schema_platform import PnlCheckRow, PnlDailyRow
from tradewind.storage.types import us_to_datetime

Json = dict[str, Any]
KEY = ("deployment", "instrument")
_VALUES = ("realized_pl", "unrealized_pl", "financing", "commission", "units", "nav")


def oms_fills(
    engine: Engine, account_id: str, start_us: int, end_us: int, ids: Iterable[int] = ()
) -> list[FillRecord]:
    """The OMS's fills of the account with ``start_us <= at < end_us``, and those with a
    transaction id in ``ids`` wherever their time, by transaction id."""
    when = and_(OmsFillRow.at >= us_to_datetime(start_us), OmsFillRow.at < us_to_datetime(end_us))
    ids = sorted(set(ids))
    which = or_(when, OmsFillRow.transaction_id.in_(ids)) if ids else when
    query = select(OmsFillRow).where(OmsFillRow.account_id == account_id, which)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(OmsFillRow.transaction_id)).all()
    return [fill_record(r) for r in rows]


def oms_financing(
    engine: Engine, account_id: str, ids: Iterable[int]
) -> dict[tuple[int, str], float]:
    """The daily financing the OMS recorded for the transactions ``ids``, per (transaction
    id, instrument)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    query = select(
        OmsFinancingRow.transaction_id, OmsFinancingRow.instrument, OmsFinancingRow.amount
    ).where(OmsFinancingRow.account_id == account_id, OmsFinancingRow.transaction_id.in_(ids))
    with engine.connect() as conn:
        return {(t, i): float(a) for t, i, a in conn.execute(query)}


def order_deployments(engine: Engine, account_id: str, client_ids: Iterable[str]) -> dict[str, str]:
    """The deployment of each of the account's orders named in ``client_ids``."""
    ids = sorted(set(client_ids))
    if not ids:
        return {}
    query = select(OmsOrderRow.client_id, OmsOrderRow.deployment).where(
        OmsOrderRow.account_id == account_id, OmsOrderRow.client_id.in_(ids)
    )
    with engine.connect() as conn:
        return {cid: dep for cid, dep in conn.execute(query)}


def deployment_units(engine: Engine, account_id: str, end_us: int) -> dict[tuple[str, str], float]:
    """Units per (deployment, instrument) the account's attributed fills (deployment not '')
    before ``end_us`` add up to."""
    query = (
        select(OmsFillRow.deployment, OmsFillRow.instrument, func.sum(OmsFillRow.units))
        .where(
            OmsFillRow.account_id == account_id,
            OmsFillRow.deployment != "",
            OmsFillRow.at < us_to_datetime(end_us),
        )
        .group_by(OmsFillRow.deployment, OmsFillRow.instrument)
    )
    with engine.connect() as conn:
        return {(d, i): float(u) for d, i, u in conn.execute(query)}


def oms_units_at(
    engine: Engine, account_id: str, end_us: int, attempts: int = 5
) -> dict[str, float]:
    """The OMS's units per instrument as of ``end_us``: its positions now less its fills at or
    after ``end_us``. Positions and the fills after are read until two reads of the fills
    agree around the positions' (the OMS writes a fill and its position in one transaction)."""
    for _ in range(attempts):
        with engine.connect() as conn:
            before = _fills_after(conn, account_id, end_us)
            held = conn.execute(
                select(OmsPositionRow.instrument, OmsPositionRow.units).where(
                    OmsPositionRow.account_id == account_id
                )
            ).all()
            after = _fills_after(conn, account_id, end_us)
        if before == after:
            units: dict[str, float] = defaultdict(float, {i: float(u) for i, u in held})
            for _tid, instrument, u in after:
                units[instrument] -= u
            return dict(units)
    raise RuntimeError(f"account {account_id}: the OMS's fills kept changing while read")


def _fills_after(conn: Connection, account_id: str, end_us: int) -> list[tuple[int, str, float]]:
    query = select(OmsFillRow.transaction_id, OmsFillRow.instrument, OmsFillRow.units).where(
        OmsFillRow.account_id == account_id, OmsFillRow.at >= us_to_datetime(end_us)
    )
    return [(int(t), i, float(u)) for t, i, u in conn.execute(query.order_by("transaction_id"))]


def live_pnl_before(engine: Engine, account_id: str, end_us: int, max_age_s: float) -> list[Json]:
    """The live trader's last P&L snapshot of the account at or before ``end_us`` (its rows:
    instruments and '*' for the account), if it is at most ``max_age_s`` old; else []."""
    end = us_to_datetime(end_us)
    with engine.connect() as conn:
        last = conn.execute(
            select(func.max(LivePnlRow.at)).where(
                LivePnlRow.account_id == account_id, LivePnlRow.at <= end
            )
        ).scalar()
        if last is None or last < end - timedelta(seconds=max_age_s):
            return []
        rows = conn.execute(
            select(LivePnlRow).where(LivePnlRow.account_id == account_id, LivePnlRow.at == last)
        ).all()
    return [
        {"instrument": r.instrument, "unrealized_pl": r.unrealized_pl, "nav": r.nav, "at": r.at}
        for r in rows
    ]


def write_day(
    engine: Engine,
    day: str,
    account_id: str,
    rows: Sequence[Mapping[str, Any]],
    check: Mapping[str, Any],
) -> None:
    """The day's rows of the account (each with deployment, instrument and the values) and
    its check, in one transaction; rows of the day not among ``rows`` are deleted."""
    now = datetime.now(UTC)
    keys = [(r["deployment"], r["instrument"]) for r in rows]
    with engine.begin() as conn:
        stale = delete(PnlDailyRow).where(
            PnlDailyRow.day == day, PnlDailyRow.account_id == account_id
        )
        if keys:
            stale = stale.where(
                not_(tuple_(PnlDailyRow.deployment, PnlDailyRow.instrument).in_(keys))
            )
        conn.execute(stale)
        for r in rows:
            values = {k: r[k] for k in _VALUES} | {"computed_at": now}
            key = {"day": day, "account_id": account_id, **{k: r[k] for k in KEY}}
            _upsert(conn, PnlDailyRow, key, values)
        values = {k: check[k] for k in ("status", "tolerance", "detail")} | {"checked_at": now}
        _upsert(conn, PnlCheckRow, {"day": day, "account_id": account_id}, values)


def _upsert(conn: Connection, table: Any, key: Json, values: Json) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(**key, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=values))


def day_rows(engine: Engine, day: str, account_id: str) -> list[Json]:
    """The stored rows of a day of an account, by deployment and instrument."""
    query = (
        select(PnlDailyRow)
        .where(PnlDailyRow.day == day, PnlDailyRow.account_id == account_id)
        .order_by(PnlDailyRow.deployment, PnlDailyRow.instrument)
    )
    with engine.connect() as conn:
        rows = [{k: getattr(r, k) for k in (*KEY, *_VALUES)} for r in conn.execute(query).all()]
    return sorted(rows, key=lambda r: (r["deployment"], r["instrument"]))  # not the collation's


def day_check(engine: Engine, day: str, account_id: str) -> Json | None:
    query = select(PnlCheckRow).where(PnlCheckRow.day == day, PnlCheckRow.account_id == account_id)
    with engine.connect() as conn:
        r = conn.execute(query).first()
    if r is None:
        return None
    return {"status": r.status, "tolerance": r.tolerance, "detail": r.detail, "at": r.checked_at}
