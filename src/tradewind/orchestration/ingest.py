"""The ``market_data_ingest`` DAG's tasks: work items from the ingest config, one candle job
per (instrument, timeframe) through the ``oanda`` connection, and the landing bucket through
the ``minio`` connection; both write to ``tradewind_db``.

A relative config path is resolved against the project root (the folder holding ``dags/``
and ``configs/``); the config's ``universe`` against the config file's folder. A batch over
the quarantine ratio, or a rejected landing object, fails its task without a retry (the data
would not change); a missing connection or an unreachable service fails it with retries."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from tradewind.config import UniverseConfig, load_config
from tradewind.config.errors import ConfigError
from tradewind.config.ingest import MarketIngestConfig
from tradewind.domain import Timeframe
from tradewind.orchestration import connections

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "configs/ingest/market_data.yaml"


def config_path(path: str, root: str | Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() else Path(root) / p


def load_ingest_config(path: str, root: str | Path) -> MarketIngestConfig:
    return load_config(config_path(path, root), MarketIngestConfig)


def work_items(
    path: str,
    root: str | Path,
    instruments: list[str] | None = None,
    timeframes: list[str] | None = None,
) -> list[dict[str, str]]:
    """One item per (instrument, timeframe): the given lists, else the config's (the
    config's empty instrument list: every instrument of its universe)."""
    cfg_path = config_path(path, root)
    cfg = load_config(cfg_path, MarketIngestConfig)
    universe = load_config(cfg_path.parent / cfg.universe, UniverseConfig)
    known = [i.symbol for i in universe.instruments]
    symbols = list(instruments or cfg.instruments or known)
    unknown = sorted(set(symbols) - set(known))
    if unknown:
        raise ConfigError(f"{cfg_path}: not in universe {universe.name!r}: {', '.join(unknown)}")
    try:
        tfs = [Timeframe(t) for t in timeframes] if timeframes else list(cfg.timeframes)
    except ValueError as exc:
        raise ConfigError(f"params.timeframes: {exc}") from None
    return [{"instrument": s, "timeframe": tf.value} for s in symbols for tf in tfs]


def ingest_candles(item: dict[str, str], end: datetime, path: str, root: str | Path) -> Any:
    """Candles of one item from its last stored bar to ``end`` (the run's data interval end),
    as a JSON-able summary with each batch's quarantine counts."""
    from airflow.sdk.exceptions import AirflowFailException

    from tradewind.pipelines.candle_job import ingest_latest
    from tradewind.pipelines.quarantine_gate import QuarantineRatioExceeded

    cfg = load_ingest_config(path, root)
    engine = connections.engine()
    with connections.broker() as broker:
        try:
            summary = ingest_latest(
                engine,
                broker,
                item["instrument"],
                Timeframe(item["timeframe"]),
                end,
                environment=broker.environment,
                history_bars=cfg.history_bars,
                max_quarantine_ratio=cfg.max_quarantine_ratio,
            )
        except QuarantineRatioExceeded as exc:
            raise AirflowFailException(str(exc)) from exc
    log.info(
        "%s %s: %d bars fetched, %d inserted, %d quarantined (batches %s)",
        item["instrument"],
        item["timeframe"],
        summary["fetched"],
        summary["inserted"],
        summary["quarantined"],
        summary["batch_ids"],
    )
    return summary


def ingest_landing(path: str, root: str | Path) -> Any:
    """Every object under ``incoming/`` of the landing bucket; skipped when no ``minio``
    connection is set."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from tradewind.pipelines.landing import import_landing
    from tradewind.pipelines.landing_summary import LandingRejected, check_landing

    if connections.connection(connections.LANDING_CONN) is None:
        raise AirflowSkipException(
            f"no Airflow connection {connections.LANDING_CONN!r}: no landing bucket to import "
            "from (set AIRFLOW_CONN_MINIO to enable it)"
        )
    cfg = load_ingest_config(path, root)
    bucket = connections.landing()
    engine = connections.engine()
    summary = import_landing(
        engine, bucket.client(), bucket.bucket, max_quarantine_ratio=cfg.max_quarantine_ratio
    )
    out = summary.to_json()
    log.info(
        "landing %s: %d object(s), %d imported, %d rejected, %d bars inserted, %d quarantined",
        bucket.bucket,
        out["objects"],
        out["imported"],
        out["rejected"],
        out["inserted"],
        out["quarantined"],
    )
    try:
        check_landing(summary, fail_on_rejected=cfg.fail_on_rejected)
    except LandingRejected as exc:
        raise AirflowFailException(str(exc)) from exc
    return out
