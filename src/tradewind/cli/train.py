"""`tradewind train`: train a model config, log it to MLflow and register a new version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tradewind.cli.context import (
    JsonOpt,
    emit_json,
    one_line_errors,
    out,
    ready_engine,
)
from tradewind.cli.models import mlflow_errors, tracking
from tradewind.cli.numbers import fmt_metric
from tradewind.cli.progress import task


def training_steps(cfg: Any, timesteps: int | None) -> int:
    """The units of a training's progress: the environment steps an RL training takes, or
    the fits a supervised one makes (each cross-validation fold, then the final fit)."""
    from tradewind.config.models import RLLearner

    if isinstance(cfg.learner, RLLearner):
        return int(timesteps if timesteps is not None else cfg.learner.timesteps)
    from tradewind.ml.train import supervised_fits

    return supervised_fits(cfg.learner)


@one_line_errors
@mlflow_errors
def train(
    config: Annotated[Path, typer.Option("--config", help="A `kind: model` config file.")],
    timesteps: Annotated[
        int | None,
        typer.Option(min=1, help="RL only: override learner.timesteps (a quick run)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Train a model from a config and register it in MLflow under the config's name."""
    from tradewind.config import load_config
    from tradewind.config.models import ModelConfig
    from tradewind.pipelines.train import train as run_train

    cfg = load_config(config, ModelConfig)
    engine = ready_engine()
    steps = training_steps(cfg, timesteps)
    with task(f"training {cfg.name}", steps, quiet=as_json) as progress:
        result = run_train(
            engine,
            cfg,
            timesteps=timesteps,
            progress=progress,
            tracking=tracking(),
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
            t.add_row(k, fmt_metric(k, v))
    out.print(t)
    out.print(
        f"promote it: tradewind models promote {result.model_name} {result.model_version} "
        "--alias champion",
        highlight=False,
    )
