"""Task functions of the ``retrain_models`` DAG: adapters from Airflow connections
(``tradewind_db``, ``mlflow``), then ``tradewind.pipelines.retrain``.

Config paths may be relative to the project directory (the checkout or image holding
``configs/`` and ``strategies/``): the tasks run there, as the CLI does, so the paths inside
the configs (``features: configs/features/default.yaml``) resolve the same way.
A refusal (no held-out window, a bad config, a missing connection or database) fails the
task without retries: running it again would refuse again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tradewind.config import ConfigError, load_config
from tradewind.config.promotion import PromotionGate
from tradewind.orchestration import connections
from tradewind.pipelines.retrain import (
    Challenger,
    RetrainRefused,
    judge_challenger,
    train_challenger,
)


@contextlib.contextmanager
def in_project(project_dir: str | Path | None) -> Iterator[None]:
    """Run the block in ``project_dir`` (when given), refusals as task failures that Airflow
    does not retry."""
    from airflow.sdk.exceptions import AirflowFailException

    before = Path.cwd()
    if project_dir is not None:
        os.chdir(project_dir)
    try:
        yield
    except (RetrainRefused, ConfigError, connections.JobSetupError) as exc:
        raise AirflowFailException(str(exc)) from exc
    finally:
        os.chdir(before)


def train_challenger_task(
    model_config: str,
    gate_config: str,
    *,
    run_key: str,
    as_of: datetime,
    project_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train (or find) the challenger of ``model_config`` for ``run_key``; its JSON."""
    with in_project(project_dir):
        gate = load_config(gate_config, PromotionGate)
        challenger = train_challenger(
            connections.engine(),
            model_config,
            gate,
            run_key=run_key,
            as_of=as_of,
            tracking=connections.tracking(),
        )
        return {**challenger.to_json(), "model_config": model_config}


def judge_task(
    challenger: dict[str, Any],
    gate_config: str,
    *,
    run_key: str,
    as_of: datetime,
    project_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Backtest the challenger and the champion, gate, alias, tag, store; the decision's
    JSON (``fresh`` False when it was stored by an earlier run of ``run_key``)."""
    with in_project(project_dir):
        gate = load_config(gate_config, PromotionGate)
        engine = connections.engine()
        outcome = judge_challenger(
            engine,
            challenger["model_config"],
            gate,
            Challenger(
                model_name=challenger["model_name"],
                version=challenger["version"],
                trained=bool(challenger["trained"]),
                champion_version=challenger["champion_version"],
            ),
            run_key=run_key,
            as_of=as_of,
            tracking=connections.tracking(),
            strategies_dir="strategies",
        )
        return outcome.to_json()
