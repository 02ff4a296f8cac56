"""Runs stored as bare rows (no pipeline behind them), for the tests of run ids: prefixes,
ambiguity, short ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from tradewind.config import SyntheticConfig
from tradewind.storage.catalog import store_config
from tradewind.storage.schema import RunRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def add_runs(
    engine: Engine, ids: Sequence[str], *, kind: str, status: str, name: str = "run"
) -> None:
    """One run per id of ``ids`` (a ``kind`` run named ``{name}0``, ``{name}1``... in ``status``,
    started an hour apart from 2026-01-01, each under the default synthetic config)."""
    with engine.begin() as conn:
        fp = store_config(conn, SyntheticConfig())
        for i, run_id in enumerate(ids):
            conn.execute(
                insert(RunRow).values(
                    id=run_id,
                    kind=kind,
                    name=f"{name}{i}",
                    config_fingerprint=fp,
                    code_version="test",
                    status=status,
                    started_at=T0 + timedelta(hours=i),
                    metrics={},
                    message="",
                )
            )
