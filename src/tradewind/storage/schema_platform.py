"""Tables of the scheduled platform jobs (migration 0006): model promotions, the desired and
live model of each deployment, and the daily P&L of the reconciliation job.

- ``model_promotions``: one row per champion/challenger decision, keyed by model and the run
  key of the job that made it (an Airflow run's logical date), so re-running the same run
  finds its decision instead of making a second one.
- ``live_models``: per deployment, the model version it *should* run (set by a launch) and
  the one it *does* run (reported by the live trader at a bar boundary). Airflow only writes
  the desired side; the trader only writes the live side.
- ``pnl_daily``: per FX day (ending 17:00 New York), account, deployment and instrument, the
  day's realised and unrealised P&L, financing, commission and the account's NAV, as the
  broker's transactions of that day say. Upserted by day, so a second run replaces, never
  duplicates. ``pnl_checks`` holds, per day and account, whether the broker and the OMS
  agreed and, when not, by how much.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradewind.storage.schema import Base


class ModelPromotionRow(Base):
    __tablename__ = "model_promotions"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200))
    run_key: Mapped[str] = mapped_column(String(100))
    challenger_version: Mapped[str] = mapped_column(String(20))
    champion_version: Mapped[str | None] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(16))  # promoted | rejected
    reason: Mapped[str] = mapped_column(Text)
    gate: Mapped[dict[str, Any]]
    challenger_metrics: Mapped[dict[str, Any]]
    champion_metrics: Mapped[dict[str, Any]]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    challenger_run_id: Mapped[str | None] = mapped_column(String(40))
    champion_run_id: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("model_name", "run_key"),)


class LiveModelRow(Base):
    __tablename__ = "live_models"
    deployment: Mapped[str] = mapped_column(String(100), primary_key=True)
    desired_model: Mapped[str | None] = mapped_column(String(300))  # models:/NAME/VERSION
    desired_at: Mapped[datetime | None]
    desired_by: Mapped[str] = mapped_column(String(200), default="")
    desired_reason: Mapped[str] = mapped_column(Text, default="")
    live_model: Mapped[str | None] = mapped_column(String(300))
    live_at: Mapped[datetime | None]
    detail: Mapped[str] = mapped_column(Text, default="")  # why a desired model is not live


class PnlDailyRow(Base):
    __tablename__ = "pnl_daily"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # the FX day, YYYY-MM-DD
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    deployment: Mapped[str] = mapped_column(String(100), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(32), primary_key=True)
    realized_pl: Mapped[float] = mapped_column(Float)
    unrealized_pl: Mapped[float | None] = mapped_column(Float)  # None: no mark at the day's end
    financing: Mapped[float] = mapped_column(Float)
    commission: Mapped[float] = mapped_column(Float)
    units: Mapped[float] = mapped_column(Float)
    nav: Mapped[float | None] = mapped_column(Float)  # the account's NAV at the day's end
    computed_at: Mapped[datetime]


class PnlCheckRow(Base):
    __tablename__ = "pnl_checks"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # clean | mismatch
    tolerance: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict[str, Any]]
    checked_at: Mapped[datetime]
