"""Backtest a run config: bars from the security master -> features -> strategies -> store.

Every failure a user can cause (a bad config, an unknown strategy, an empty date range,
missing bars) is found before the run is recorded, and reported in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Engine

from tradewind.backtest.bt_engine import load_strategy, run_backtrader
from tradewind.backtest.costs import SpreadSeries
from tradewind.backtest.metrics import compute_metrics
from tradewind.backtest.result import BacktestResult
from tradewind.config import load_config
from tradewind.config.backtest import BacktestConfig
from tradewind.config.features import FeatureSpec
from tradewind.domain import BarSeries, PriceSide
from tradewind.domain.progress import Progress
from tradewind.features import build_features
from tradewind.storage import runs
from tradewind.storage.backtests import save_result
from tradewind.storage.catalog import store_config
from tradewind.storage.market import load_bars

if TYPE_CHECKING:
    from tradewind.registry.tracking import Tracking


class BacktestInputError(ValueError):
    """The run cannot start: no data, an unknown strategy, a bad features config."""


@dataclass
class BacktestRun:
    run_id: str
    results: list[BacktestResult]

    def to_json(self) -> dict[str, Any]:
        def clean(m: dict[str, float]) -> dict[str, Any]:
            return {k: (v if np.isfinite(v) else str(v)) for k, v in m.items()}

        per = [
            {
                "strategy": r.strategy,
                "params": r.params,
                "trades": len(r.trades),
                "metrics": clean(r.metrics),
            }
            for r in self.results
        ]
        return {
            "run_id": self.run_id,
            "trades": sum(p["trades"] for p in per),
            "metrics": per[0]["metrics"] if per else {},
            "results": per,
        }


def load_inputs(
    engine: Engine, cfg: BacktestConfig, feature_spec: FeatureSpec | None = None
) -> tuple[dict[str, BarSeries], dict[str, dict[str, np.ndarray]]]:
    """Bars and feature columns for every instrument; BacktestInputError when any is empty.

    ``feature_spec`` replaces the config's ``features`` file (a sweep's per-point SMAs)."""
    spec = feature_spec if feature_spec is not None else load_config(cfg.features, FeatureSpec)
    bars: dict[str, BarSeries] = {}
    history: dict[str, BarSeries] = {}  # with up to warmup_bars before start
    with engine.connect() as conn:
        for symbol in cfg.instruments:
            series = load_bars(conn, symbol, cfg.timeframe, PriceSide(cfg.side), cfg.start, cfg.end)
            history[symbol] = series
            if cfg.warmup_bars and cfg.start is not None and len(series):
                before = load_bars(
                    conn, symbol, cfg.timeframe, PriceSide(cfg.side), None, cfg.start
                )
                head = np.arange(max(0, len(before) - cfg.warmup_bars), len(before))
                history[symbol] = _concat(before.take(head), series)
            if len(series) == 0:
                window = f"[{cfg.start or 'first'}, {cfg.end or 'last'})"
                raise BacktestInputError(
                    f"no {symbol} {cfg.timeframe} {cfg.side} bars in {window}: import or "
                    "synthesize data first (tradewind data ls shows what is stored)"
                )
            bars[symbol] = series
    features = {}
    for symbol, series in bars.items():
        frame = build_features(history[symbol], spec)
        skip = len(history[symbol]) - len(series)  # the warm-up rows: computed, not traded
        features[symbol] = {c: frame.values[skip:, i] for i, c in enumerate(frame.columns)}
    return bars, features


def _concat(a: BarSeries, b: BarSeries) -> BarSeries:
    return BarSeries(
        ts=np.concatenate([a.ts, b.ts]),
        open=np.concatenate([a.open, b.open]),
        high=np.concatenate([a.high, b.high]),
        low=np.concatenate([a.low, b.low]),
        close=np.concatenate([a.close, b.close]),
        volume=np.concatenate([a.volume, b.volume]),
    )


def load_spreads(
    engine: Engine, cfg: BacktestConfig, bars: dict[str, BarSeries]
) -> dict[str, SpreadSeries]:
    """Per-bar ask - bid spreads (``SpreadSeries``) for ``costs.spread: data``, from the stored
    bid and ask bars over the run's range; BacktestInputError when a side is missing or its
    bar times differ from ``bars``."""
    out: dict[str, SpreadSeries] = {}
    with engine.connect() as conn:
        for symbol, series in bars.items():
            sides = {}
            for side in (PriceSide.BID, PriceSide.ASK):
                got = load_bars(conn, symbol, cfg.timeframe, side, cfg.start, cfg.end)
                if len(got) == 0:
                    raise BacktestInputError(
                        f"costs.spread is 'data' but no {symbol} {cfg.timeframe} {side.value} "
                        "bars are stored: import bid/ask data or use spread 'fixed'"
                    )
                if not np.array_equal(got.ts, series.ts):
                    raise BacktestInputError(
                        f"costs.spread is 'data' but the {symbol} {cfg.timeframe} {side.value} "
                        f"bars ({len(got)}) are not on the times of the {cfg.side} bars "
                        f"({len(series)})"
                    )
                sides[side] = got
            out[symbol] = SpreadSeries.from_bid_ask(sides[PriceSide.BID], sides[PriceSide.ASK])
    return out


MODEL_PARAM = "model"


def _model_uris(cfg: BacktestConfig) -> dict[int, str]:
    """Strategy index -> registered model URI, for strategies with ``model: models:/...``."""
    out = {}
    for i, spec in enumerate(cfg.strategies):
        uri = spec.params.get(MODEL_PARAM)
        if uri is None:
            continue
        if not isinstance(uri, str) or not uri.startswith("models:/"):
            raise BacktestInputError(
                f"strategy {spec.result_name}: model must be a registry URI like "
                f"models:/NAME@champion or models:/NAME/3, got {uri!r}"
            )
        out[i] = uri
    return out


def _resolve_models(
    cfg: BacktestConfig,
    spec: FeatureSpec,
    features: dict[str, dict[str, np.ndarray]],
    tracking: Tracking | None,
) -> dict[int, tuple[Any, dict[str, Any]]]:
    """Load each ``model:`` strategy's registered model and check its contract against the
    features this run computes (columns, feature spec, timeframe): a mismatch stops the run
    before it is recorded, naming the difference."""
    uris = _model_uris(cfg)
    if not uris:
        return {}
    from tradewind.pipelines.models import load_checked_policy
    from tradewind.policy import ContractMismatch
    from tradewind.registry import ModelNotFound, TrackingError

    if tracking is None:
        raise BacktestInputError(
            f"strategy model {next(iter(uris.values()))}: no model registry given (tracking)"
        )
    computed = tuple(next(iter(features.values())))
    out = {}
    for i, uri in uris.items():
        try:
            policy, version = load_checked_policy(
                uri, spec=spec, columns=computed, timeframe=cfg.timeframe, tracking=tracking
            )
        except ContractMismatch as exc:
            raise BacktestInputError(f"{uri}: {exc}") from exc
        except (ModelNotFound, TrackingError, ValueError) as exc:
            raise BacktestInputError(f"strategy model {uri}: {exc}") from exc
        out[i] = (policy, {MODEL_PARAM: uri, "model_version": str(version)})
    return out


def _benchmark_returns(bars: BarSeries, ts_us: np.ndarray) -> np.ndarray:
    close = np.interp(ts_us, bars.ts, bars.close)
    return np.diff(close) / close[:-1]


def run_backtest(
    engine: Engine,
    cfg: BacktestConfig,
    strategies_dir: str | Path = "strategies",
    feature_spec: FeatureSpec | None = None,
    *,
    tracking: Tracking | None = None,
    progress: Progress | None = None,
) -> BacktestRun:
    """Run and store ``cfg``. With ``feature_spec`` (instead of the ``features`` file), that
    spec is stored too and the stored run config's ``features`` reads ``config:<its
    fingerprint>``, so the run records exactly which features it used. ``tracking`` (the
    model registry, from the caller's composition root) is needed only by ``model:``
    strategies. ``progress(done, total)`` hears of each strategy backtested."""
    classes = [load_strategy(s.name, Path(strategies_dir)) for s in cfg.strategies]
    spec = feature_spec if feature_spec is not None else load_config(cfg.features, FeatureSpec)
    bars, features = load_inputs(engine, cfg, spec)
    models = _resolve_models(cfg, spec, features, tracking)
    spreads = load_spreads(engine, cfg, bars) if cfg.costs.spread == "data" else None
    if feature_spec is not None:
        with engine.begin() as conn:
            spec_fp = store_config(conn, feature_spec, feature_spec.name)
        cfg = cfg.model_copy(update={"features": f"config:{spec_fp}"})
    bench = None
    if cfg.benchmark:
        with engine.connect() as conn:
            bench = load_bars(
                conn, cfg.benchmark, cfg.timeframe, PriceSide(cfg.side), cfg.start, cfg.end
            )
    run_id = runs.start_run(engine, "backtest", cfg, name=cfg.name)
    try:
        results = []
        for i, (strat, cls) in enumerate(zip(cfg.strategies, classes, strict=True)):
            params = dict(strat.params)
            stored = dict(params)
            if i in models:
                policy, stored_model = models[i]
                params.pop(MODEL_PARAM)
                params["policy"] = policy
                stored.update(stored_model)
            result = run_backtrader(
                bars,
                features,
                cls,
                params,
                cfg,
                strat.result_name,
                spreads=spreads,
                periods_per_year=cfg.timeframe.periods_per_year,
            )
            result.params = stored
            bench_ret = (
                _benchmark_returns(bench, result.ts_us)
                if bench is not None and len(bench)
                else None
            )
            result.metrics = compute_metrics(result, cfg.timeframe.periods_per_year, bench_ret)
            results.append(result)
            if progress is not None:
                progress(len(results), len(cfg.strategies))
        first = min(int(b.ts[0]) for b in bars.values())
        last = max(int(b.ts[-1]) for b in bars.values())
        with engine.begin() as conn:
            from tradewind.storage.backtests import json_metrics

            for r in results:
                save_result(conn, run_id, r)
            runs.record_data_range(conn, run_id, first, last)
        summary = {r.strategy: json_metrics(r.metrics) for r in results}
    except BaseException as exc:
        runs.finish_run(engine, run_id, "failed", {}, f"{type(exc).__name__}: {exc}")
        raise
    runs.finish_run(engine, run_id, "succeeded", summary)
    return BacktestRun(run_id, results)


__all__ = ["BacktestInputError", "BacktestRun", "run_backtest"]
