"""A sweep and a walk-forward cut into task-sized steps that take and return JSON, so a
scheduler can fan them out (one task per chunk of grid points, one per fold) and reduce.

Sweep: ``plan`` -> ``score_chunk`` per chunk -> ``reduce`` -> ``rerun_best`` (walk-forward
folds: ``walkforward_tasks``). Chunks keep the grid's point
order and ``reduce`` ranks them as the in-process ``sweep`` does (a stable sort), so both give
the same ranking and best points. Configs travel as their JSON body: a worker needs the
package and the database, not the config files. Non-finite metrics travel as the strings
``nan``/``inf``/``-inf`` (JSON, and Postgres's JSONB, have no NaN).

``rerun_best`` is idempotent: a point whose run (same stored config fingerprint, same data
range, same code version) already succeeded is reused, not run again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from tradewind.backtest.sweep import Params, grid_points
from tradewind.config.backtest import BacktestConfig
from tradewind.config.base import fingerprint
from tradewind.config.errors import ConfigError
from tradewind.config.loader import parse_config
from tradewind.domain.series import BarSeries
from tradewind.pipelines.backtest import instrument_terms, load_inputs
from tradewind.pipelines.sweep import (
    FEATURE_PARAMS,
    SweepError,
    SweepReport,
    _check_grid,
    _parse,
    _point_params,
    _strategy,
    cleand,
    point_run_config,
    rank,
    rerun_point,
    resolve_target,
    sma_feature_spec,
)
from tradewind.storage import runs
from tradewind.storage.schema import RunRow
from tradewind.storage.types import us_to_datetime

JSON = dict[str, Any]


def backtest_config(config: Mapping[str, Any] | BacktestConfig) -> BacktestConfig:
    """A backtest config from its JSON body (as ``model_dump(mode="json")`` makes it)."""
    if isinstance(config, BacktestConfig):
        return config
    model = parse_config({"kind": "backtest", **dict(config)}, "sweep config")
    if not isinstance(model, BacktestConfig):
        raise ConfigError(f"sweep config: kind: expected 'backtest', not {type(model).__name__}")
    return model


def sweep_grid(grid: str | Mapping[str, Any]) -> dict[str, list[Any]]:
    """A grid from the CLI's syntax (``fast=5:20:5,slow=30:60:10``) or a mapping of name ->
    list of values (or one value)."""
    if isinstance(grid, str):
        if not grid.strip():
            raise SweepError("a grid is required (e.g. 'fast=5:50:5,slow=20:200:10')")
        return _parse(grid)
    if not isinstance(grid, Mapping) or not grid:
        raise SweepError(f"grid must be a string or a non-empty mapping, got {grid!r}")
    out: dict[str, list[Any]] = {}
    for name, values in grid.items():
        vals = list(values) if isinstance(values, list | tuple) else [values]
        bad = [v for v in vals if not isinstance(v, int | float) or isinstance(v, bool)]
        if not vals or bad:
            raise SweepError(f"grid part {name}: want numbers, got {values!r}")
        out[str(name)] = vals
    return out


def grid_plan(grid: str | Mapping[str, Any]) -> tuple[list[Params], int]:
    """The valid points of a grid in the sweep's order, and how many had ``fast >= slow``."""
    g = sweep_grid(grid)
    _check_grid(g)
    every = grid_points(g)
    pts = [p for p in every if int(p["fast"]) < int(p["slow"])]
    if not pts:
        raise SweepError(f"grid {grid!r}: every point has fast >= slow")
    return pts, len(every) - len(pts)


def split(points: Sequence[Params], chunks: int) -> list[list[Params]]:
    """``points`` in order, cut into at most ``chunks`` contiguous runs differing by <= 1."""
    if chunks < 1:
        raise SweepError(f"chunks must be at least 1, got {chunks}")
    n = min(chunks, len(points))
    size, extra = divmod(len(points), n)
    out, start = [], 0
    for i in range(n):
        stop = start + size + (1 if i < extra else 0)
        out.append([dict(p) for p in points[start:stop]])
        start = stop
    return out


def plan(
    config: Mapping[str, Any] | BacktestConfig, grid: str | Mapping[str, Any], chunks: int
) -> list[list[Params]]:
    """The grid's valid points cut into ``chunks`` chunks (deterministic, in grid order)."""
    _strategy(backtest_config(config))
    return split(grid_plan(grid)[0], chunks)


def load_bars_of(engine: Engine, cfg: BacktestConfig) -> dict[str, BarSeries]:
    return load_inputs(engine, cfg, sma_feature_spec(2, 3))[0]


def score_chunk(
    engine: Engine,
    config: Mapping[str, Any] | BacktestConfig,
    chunk: Sequence[Params],
    target: str,
    workers: int = 1,
) -> list[JSON]:
    """``[{"params", "metrics"}, ...]`` of a chunk on the vectorised engine, in chunk order."""
    from tradewind.pipelines.sweep import score_points

    cfg = backtest_config(config)
    strategy = _strategy(cfg)
    resolve_target(target)  # fail here, not after scoring, on a bad target
    full = [_point_params(strategy, p) for p in chunk]
    terms = instrument_terms(engine, cfg.instruments, cfg.timeframe)
    metrics = score_points(
        load_bars_of(engine, cfg),
        full,
        cfg,
        terms.periods_per_year,
        workers,
        None,
        strategy.name,
        terms.pip_locations,
        terms.units_precision,
    )
    return [{"params": dict(p), "metrics": cleand(m)} for p, m in zip(chunk, metrics, strict=True)]


def _floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items()}


def reduce(scored: Sequence[Sequence[JSON]], top: int, target: str, skipped: int = 0) -> JSON:
    """The ranking of every scored point (chunks in plan order), as ``sweep``'s JSON report,
    plus ``best``: the ``top`` best points' params."""
    label, scorer = resolve_target(target)
    rows = [r for chunk in scored for r in chunk]
    if not rows:
        raise SweepError("nothing to reduce: no scored points")
    ranked = rank([r["params"] for r in rows], [_floats(r["metrics"]) for r in rows], scorer)
    report = SweepReport(label, ranked, skipped).to_json()
    del report["rerun"]
    report["best"] = [p.params for p in ranked[: max(top, 0)]]
    return report


def ordered(point: Mapping[str, Any], keys: Sequence[str]) -> Params:
    """``point`` with its keys in grid order (a JSONB round trip may reorder them)."""
    return {k: point[k] for k in [*keys, *(k for k in point if k not in keys)] if k in point}


def _stored(
    engine: Engine, config_fp: str, first_us: int, last_us: int
) -> tuple[str, dict[str, Any]] | None:
    """``(run id, metrics summary)`` of an earlier succeeded run of this config and data."""
    q = (
        select(RunRow.id, RunRow.metrics)
        .where(
            RunRow.kind == "backtest",
            RunRow.status == "succeeded",
            RunRow.config_fingerprint == config_fp,
            RunRow.code_version == runs.code_version(),
            RunRow.data_start == us_to_datetime(first_us),
            RunRow.data_end == us_to_datetime(last_us),
        )
        .order_by(RunRow.started_at)
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(q).first()
    return None if row is None else (str(row[0]), dict(row[1]))


def rerun_best(
    engine: Engine,
    config: Mapping[str, Any] | BacktestConfig,
    points: Sequence[Params],
    keys: Sequence[str] = FEATURE_PARAMS,
    strategies_dir: str | Path | None = None,
) -> list[JSON]:
    """Each point (its keys put in grid order ``keys``: they name the run) re-run on
    Backtrader and stored, or its earlier identical run reused:
    ``[{"run_id", "params", "metrics", "reused"}, ...]`` in ``points`` order."""
    cfg = backtest_config(config)
    bars = load_bars_of(engine, cfg)
    first = min(int(b.ts[0]) for b in bars.values())
    last = max(int(b.ts[-1]) for b in bars.values())
    out = []
    for given in points:
        point = ordered(given, keys)
        one, spec = point_run_config(cfg, point)
        stored_fp = fingerprint(one.model_copy(update={"features": f"config:{fingerprint(spec)}"}))
        found = _stored(engine, stored_fp, first, last)
        if found is not None:
            metrics: dict[str, Any] = next(iter(found[1].values()), {})
            out.append({"run_id": found[0], "params": point, "metrics": metrics, "reused": True})
            continue
        run = rerun_point(engine, cfg, point, strategies_dir)
        metrics = cleand(run.metrics)
        out.append({"run_id": run.run_id, "params": point, "metrics": metrics, "reused": False})
    return out


__all__ = [
    "backtest_config",
    "grid_plan",
    "load_bars_of",
    "ordered",
    "plan",
    "reduce",
    "rerun_best",
    "score_chunk",
    "split",
    "sweep_grid",
]
