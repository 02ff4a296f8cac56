"""The ``backtest_sweep`` and ``backtest_walkforward`` DAGs' tasks: validate the run's params,
load the config once (workers get its JSON body, not the file), then call
``tradewind.pipelines.sweep_tasks`` with the security master from the ``tradewind_db``
connection. Every function takes and returns JSON (the tasks' XComs)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError

from tradewind.config.backtest import BacktestConfig
from tradewind.config.base import FrozenModel
from tradewind.config.errors import ConfigError
from tradewind.config.loader import load_config
from tradewind.orchestration.connections import engine
from tradewind.pipelines import sweep_tasks as tasks
from tradewind.pipelines import walkforward_tasks as wf_tasks
from tradewind.pipelines.sweep import resolve_target

JSON = dict[str, Any]
Grid = str | dict[str, Any]  # values checked by sweep_tasks.sweep_grid (one clear error)
M = TypeVar("M", bound=FrozenModel)


class SweepParams(FrozenModel):
    """A sweep run's params (the DAG's ``params``, or a manual trigger's conf)."""

    config: str = "configs/backtests/demo.yaml"
    grid: Grid = "fast=5:20:5,slow=30:60:10"
    target: str = "sharpe"
    chunks: int = Field(default=4, ge=1, le=1000)
    top: int = Field(default=3, ge=0, le=100)


class WalkForwardParams(FrozenModel):
    """A walk-forward run's params."""

    config: str = "configs/backtests/demo.yaml"
    grid: Grid = "fast=5:20:5,slow=30:60:10"
    target: str = "sharpe"
    train_bars: int = Field(default=1000, ge=2)
    test_bars: int = Field(default=500, ge=2)
    mode: Literal["rolling", "expanding"] = "rolling"


def _validated(model: type[M], params: Mapping[str, Any], dag: str) -> M:
    try:
        return model.model_validate(dict(params))
    except ValidationError as err:
        raise ConfigError.from_validation(f"{dag} params", err) from None


def config_path(path: str, project_dir: str | Path | None) -> Path:
    """``path`` as given when it exists (absolute, or relative to the working directory),
    else relative to the project (the directory holding ``dags/`` and ``configs/``)."""
    p = Path(path)
    if p.is_file() or p.is_absolute() or project_dir is None:
        return p
    candidate = Path(project_dir) / p
    if candidate.is_file():
        return candidate
    raise ConfigError(f"config {path}: no such file in {Path.cwd()} or in {project_dir}")


def _config(path: str, project_dir: str | Path | None) -> JSON:
    cfg = load_config(config_path(path, project_dir), BacktestConfig)
    return cfg.model_dump(mode="json")


def _grid(grid: Grid) -> str | list[list[Any]]:
    """The grid as it travels between tasks: a string, or ``[[name, values], ...]`` (a list
    keeps the names' order, which sets the points' order; a JSONB mapping would not)."""
    return grid if isinstance(grid, str) else [[k, v] for k, v in grid.items()]


def _ungrid(grid: str | list[list[Any]]) -> str | dict[str, Any]:
    return grid if isinstance(grid, str) else {str(k): v for k, v in grid}


def prepare_sweep(params: Mapping[str, Any], project_dir: str | Path | None = None) -> JSON:
    """The validated run: config body, grid, target, chunk count, top, grid keys and the
    number of skipped points; every later task gets it."""
    p = _validated(SweepParams, params, "backtest_sweep")
    resolve_target(p.target)
    body = _config(p.config, project_dir)
    points, skipped = tasks.grid_plan(p.grid)
    tasks.plan(body, p.grid, p.chunks)  # the strategy is one a sweep supports
    return {
        "config": body,
        "config_path": p.config,
        "grid": _grid(p.grid),
        "target": p.target,
        "chunks": p.chunks,
        "top": p.top,
        "keys": list(points[0]),
        "points": len(points),
        "skipped": skipped,
    }


def plan_chunks(setup: Mapping[str, Any]) -> list[list[JSON]]:
    """The grid's points cut into chunks, one scoring task each."""
    return tasks.plan(setup["config"], _ungrid(setup["grid"]), int(setup["chunks"]))


def score_chunk(setup: Mapping[str, Any], chunk: list[JSON]) -> list[JSON]:
    return tasks.score_chunk(engine(), setup["config"], chunk, str(setup["target"]))


def reduce_sweep(setup: Mapping[str, Any], scored: list[list[JSON]]) -> JSON:
    keys = list(setup["keys"])
    report = tasks.reduce(list(scored), int(setup["top"]), str(setup["target"]), setup["skipped"])
    report["best"] = [tasks.ordered(p, keys) for p in report["best"]]
    return report


def rerun_best(setup: Mapping[str, Any], reduced: Mapping[str, Any]) -> list[JSON]:
    return tasks.rerun_best(engine(), setup["config"], reduced["best"], keys=setup["keys"])


def prepare_walkforward(params: Mapping[str, Any], project_dir: str | Path | None = None) -> JSON:
    """The validated walk-forward run, for every later task."""
    p = _validated(WalkForwardParams, params, "backtest_walkforward")
    resolve_target(p.target)
    body = _config(p.config, project_dir)
    _, skipped = tasks.grid_plan(p.grid)
    return {
        "config": body,
        "config_path": p.config,
        "grid": _grid(p.grid),
        "target": p.target,
        "train_bars": p.train_bars,
        "test_bars": p.test_bars,
        "mode": p.mode,
        "skipped": skipped,
    }


def plan_folds(setup: Mapping[str, Any]) -> list[JSON]:
    """``[{"fold", "train", "test"}, ...]`` on the stored bars, one task each."""
    return wf_tasks.plan_folds(
        engine(), setup["config"], int(setup["train_bars"]), int(setup["test_bars"]), setup["mode"]
    )


def score_fold(setup: Mapping[str, Any], fold: Mapping[str, Any]) -> JSON:
    grid = _ungrid(setup["grid"])
    return wf_tasks.score_fold(engine(), setup["config"], grid, setup["target"], fold)


def stitch_folds(setup: Mapping[str, Any], folds: list[JSON]) -> JSON:
    grid = _ungrid(setup["grid"])
    return wf_tasks.stitch_folds(
        engine(), setup["config"], grid, setup["target"], setup["mode"], list(folds)
    )
