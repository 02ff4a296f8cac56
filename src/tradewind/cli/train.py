"""`tradewind train`: train a model config, log it to MLflow and register a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tradewind.cli.context import (
    JsonOpt,
    emit_json,
    err,
    one_line_errors,
    out,
    ready_engine,
    working,
)
from tradewind.cli.models import fmt, mlflow_errors, tracking


@one_line_errors
@mlflow_errors
def train(
    config: Annotated[Path, typer.Option("--config", help="A `kind: model` config file.")],
    timesteps: Annotated[
        int | None,
        typer.Option(min=1, help="RL only: override learner.timesteps (a quick run)."),
    ] = None,
    as_json: JsonOpt = False,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar (default: on a terminal)."),
    ] = None,
) -> None:
    """Train a model from a config and register it in MLflow under the config's name."""
    from tradewind.config import load_config
    from tradewind.config.models import ModelConfig
    from tradewind.pipelines.train import train as run_train

    cfg = load_config(config, ModelConfig)
    engine = ready_engine()
    show_progress = (not as_json and err.is_terminal) if progress is None else progress
    with working(f"training {cfg.name}", quiet=as_json or show_progress):
        result = run_train(
            engine, cfg, timesteps=timesteps, progress=show_progress, tracking=tracking()
        )
    if as_json:
        emit_json(result.to_json())
        return
    out.print(
        f"registered [bold]{result.model_name}[/] version {result.model_version} "
        f"({result.learner} {result.algo}); run {result.run_id}, "
        f"MLflow run {result.mlflow_run_id} at {result.tracking_uri}",
        highlight=False,
    )
    t = Table("metric", "value")
    for k, v in sorted(result.metrics.items()):
        if k.startswith(("val_", "cv_")):
            t.add_row(k, fmt(v))
    out.print(t)
    out.print(
        f"promote it: tradewind models promote {result.model_name} {result.model_version} "
        "--alias champion",
        highlight=False,
    )
