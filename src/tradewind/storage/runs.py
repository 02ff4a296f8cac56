"""The run store: every unit of work records the config fingerprint and code it ran with."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session

import tradewind
from tradewind.config.base import FrozenModel
from tradewind.storage.catalog import store_config
from tradewind.storage.schema import BacktestResultRow, RunRow
from tradewind.storage.types import us_to_datetime


@cache
def code_version() -> str:
    """Package version plus the git commit when running from a checkout (``+dirty`` if edited)."""
    here = Path(tradewind.__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return tradewind.__version__
    return f"{tradewind.__version__}+g{sha}{'.dirty' if dirty else ''}"


def start_run(engine: Engine, kind: str, config: FrozenModel, name: str = "") -> str:
    """Record a run as ``running`` in its own transaction, so a crash leaves a visible trace."""
    run_id = str(uuid.uuid4())
    with engine.begin() as conn:
        fp = store_config(conn, config)
        conn.execute(
            insert(RunRow).values(
                id=run_id,
                kind=kind,
                name=name,
                config_fingerprint=fp,
                code_version=code_version(),
                status="running",
                started_at=datetime.now(UTC),
                metrics={},
                message="",
            )
        )
    return run_id


def finish_run(
    engine: Engine, run_id: str, status: str, metrics: dict[str, Any], message: str = ""
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(RunRow)
            .where(RunRow.id == run_id)
            .values(
                status=status,
                finished_at=datetime.now(UTC),
                metrics=metrics,
                message=message[:2000],
            )
        )


def record_data_range(conn: Connection, run_id: str, first_us: int, last_us: int) -> None:
    """Record the data range a run used: its first and last bar's open time (epoch µs)."""
    conn.execute(
        update(RunRow)
        .where(RunRow.id == run_id)
        .values(data_start=us_to_datetime(first_us), data_end=us_to_datetime(last_us))
    )


def record_marks(conn: Connection, run_id: str, marks: dict[str, Any]) -> None:
    """Record what the run should be read with (``runs.marks``): e.g. ``in_sample`` (models
    it ran on data they trained or validated on) and ``allowed`` (contract checks a person
    explicitly let pass). An empty ``marks`` records nothing."""
    if marks:
        conn.execute(update(RunRow).where(RunRow.id == run_id).values(marks=marks))


def get_run(conn: Connection, run_id: str) -> RunRow | None:
    return Session(conn).scalars(select(RunRow).where(RunRow.id == run_id)).one_or_none()


def list_runs(conn: Connection, kind: str | None = None, limit: int = 50) -> list[RunRow]:
    q = select(RunRow).order_by(RunRow.started_at.desc()).limit(limit)
    if kind:
        q = q.where(RunRow.kind == kind)
    return list(Session(conn).scalars(q))


SHORT_ID = 8  # hex digits of a run id shown in tables; any unique prefix is accepted back
_ID_CHARS = frozenset("0123456789abcdef-")
_SHOWN_MATCHES = 5


class AmbiguousRunId(LookupError):
    """A run id prefix that matches more than one run."""


def short_id(run_id: str) -> str:
    return run_id[:SHORT_ID]


def short_ids(run_ids: list[str]) -> dict[str, str]:
    """Each id shortened to ``SHORT_ID`` digits, or as many more as keep them apart."""
    n = SHORT_ID
    while len({i[:n] for i in run_ids}) < len(set(run_ids)):
        n += 1
    return {i: i[:n] for i in run_ids}


def resolve_run(conn: Connection, ref: str) -> RunRow:
    """The run whose id is ``ref`` or starts with it (one query, the same on every backend).
    Raises ``LookupError`` naming the problem: not an id, no such run, or, for a prefix that
    matches several runs, ``AmbiguousRunId`` listing them."""
    prefix = ref.strip().lower()
    if not prefix or not set(prefix) <= _ID_CHARS:
        raise LookupError(
            f"run id {ref!r}: expected a run id or a prefix of one (see `tradewind runs ls`)"
        )
    rows = list(
        Session(conn).scalars(
            select(RunRow)
            .where(RunRow.id.startswith(prefix, autoescape=True))
            .order_by(RunRow.started_at.desc(), RunRow.id)
            .limit(_SHOWN_MATCHES + 1)
        )
    )
    if not rows:
        raise LookupError(f"no run {ref!r} (see `tradewind runs ls`)")
    if len(rows) > 1:
        shown = ", ".join(
            f"{r.id[: max(SHORT_ID, len(prefix) + 1)]} ({r.kind} {r.name})".replace(" )", ")")
            for r in rows[:_SHOWN_MATCHES]
        )
        more = ", ..." if len(rows) > _SHOWN_MATCHES else ""
        raise AmbiguousRunId(f"run id prefix {ref!r} matches several runs: {shown}{more}")
    return rows[0]


def strategy_results(conn: Connection, run_id: str) -> list[BacktestResultRow]:
    """A backtest run's strategy results (name, parameters, metrics as stored), in order."""
    return list(
        Session(conn).scalars(
            select(BacktestResultRow)
            .where(BacktestResultRow.run_id == run_id)
            .order_by(BacktestResultRow.id)
        )
    )
