"""The live trader's rows for dashboards and ``tradewind live status``: deployments with
their heartbeat, measurements over time (latency, counts) and positions with P&L."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from tradewind.storage.schema_live import LiveDeploymentRow, LiveMetricRow, LivePnlRow
from tradewind.storage.types import us_to_datetime


def _now() -> datetime:
    return datetime.now(UTC)


def known_accounts(engine: Engine) -> list[str]:
    """Accounts the OMS or a deployment has seen."""
    from tradewind.storage.schema_live import OmsAccountRow

    with engine.connect() as conn:
        a = {r for (r,) in conn.execute(select(OmsAccountRow.account_id))}
        b = {r for (r,) in conn.execute(select(LiveDeploymentRow.account_id))}
    return sorted(a | b)


def last_deployed_config(engine: Engine, account_id: str) -> dict[str, Any] | None:
    """The config the account was last traded with (its newest deployment's), or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(LiveDeploymentRow.config)
            .where(LiveDeploymentRow.account_id == account_id)
            .order_by(LiveDeploymentRow.started_at.desc())
            .limit(1)
        ).first()
    return dict(row[0]) if row is not None else None


class SqlLiveStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(
        self,
        name: str,
        *,
        account_id: str,
        fingerprint: str,
        config: dict[str, Any],
        health_url: str | None,
    ) -> None:
        """Mark a deployment running (a new row, or the old one taken over)."""
        now = _now()
        values = {
            "account_id": account_id,
            "config_fingerprint": fingerprint,
            "config": config,
            "status": "running",
            "pid": os.getpid(),
            "health_url": health_url,
            "started_at": now,
            "heartbeat_at": now,
            "stopped_at": None,
            "detail": "",
        }
        with self.engine.begin() as conn:
            done = conn.execute(
                update(LiveDeploymentRow).where(LiveDeploymentRow.name == name).values(**values)
            )
            if done.rowcount == 0:
                conn.execute(insert(LiveDeploymentRow).values(name=name, **values))

    def heartbeat(self, names: Sequence[str], detail: str = "", status: str = "running") -> None:
        """The deployments are alive; ``status`` running or degraded (``detail`` says why)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(LiveDeploymentRow)
                .where(LiveDeploymentRow.name.in_(list(names)))
                .values(heartbeat_at=_now(), detail=detail, status=status)
            )

    def stop(self, names: Sequence[str], status: str = "stopped", detail: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(LiveDeploymentRow)
                .where(LiveDeploymentRow.name.in_(list(names)))
                .values(status=status, stopped_at=_now(), heartbeat_at=_now(), detail=detail)
            )

    def deployments(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(LiveDeploymentRow).order_by(LiveDeploymentRow.name)).all()
        return [
            {
                "name": r.name,
                "account_id": r.account_id,
                "status": r.status,
                "pid": r.pid,
                "health_url": r.health_url,
                "started_at": r.started_at,
                "heartbeat_at": r.heartbeat_at,
                "stopped_at": r.stopped_at,
                "detail": r.detail,
                "config_fingerprint": r.config_fingerprint,
            }
            for r in rows
        ]

    def metrics(self, rows: Iterable[tuple[str, str, float, int]]) -> None:
        """(deployment, metric, value, at_us) rows."""
        values = [
            {"deployment": d, "metric": m, "value": float(v), "at": us_to_datetime(at)}
            for d, m, v, at in rows
        ]
        if values:
            with self.engine.begin() as conn:
                conn.execute(insert(LiveMetricRow), values)

    def pnl(self, rows: Iterable[dict[str, Any]]) -> None:
        """Rows of ``live_pnl`` (``at`` as epoch µs under ``at_us``)."""
        values = [
            {**{k: v for k, v in r.items() if k != "at_us"}, "at": us_to_datetime(r["at_us"])}
            for r in rows
        ]
        if values:
            with self.engine.begin() as conn:
                conn.execute(insert(LivePnlRow), values)

    def latest_pnl(self, account_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            last = conn.execute(
                select(func.max(LivePnlRow.at)).where(LivePnlRow.account_id == account_id)
            ).scalar()
            if last is None:
                return []
            rows = conn.execute(
                select(LivePnlRow).where(LivePnlRow.account_id == account_id, LivePnlRow.at == last)
            ).all()
        return [
            {
                "instrument": r.instrument,
                "deployment": r.deployment,
                "units": r.units,
                "avg_price": r.avg_price,
                "mid": r.mid,
                "realized_pl": r.realized_pl,
                "unrealized_pl": r.unrealized_pl,
                "nav": r.nav,
                "at": r.at,
            }
            for r in rows
        ]

    def metric_series(self, deployment: str, metric: str) -> list[float]:
        with self.engine.connect() as conn:
            return [
                v
                for (v,) in conn.execute(
                    select(LiveMetricRow.value)
                    .where(LiveMetricRow.deployment == deployment, LiveMetricRow.metric == metric)
                    .order_by(LiveMetricRow.id)
                )
            ]
