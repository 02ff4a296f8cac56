"""Backtest a run config: bars from the security master -> features -> strategies -> store.

Every failure a user can cause (a bad config, an unknown strategy, an empty date range,
missing bars) is found before the run is recorded, and reported in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from sqlalchemy import Engine

from tradewind.backtest.bt_engine import check_params, load_strategy, run_backtrader
from tradewind.backtest.costs import SpreadSeries
from tradewind.backtest.metrics import compute_metrics
from tradewind.backtest.result import BacktestResult
from tradewind.backtest.trades import count_trades
from tradewind.config import load_config
from tradewind.config.backtest import BacktestConfig
from tradewind.config.features import FeatureSpec
from tradewind.domain import BarSeries, PriceSide, Timeframe
from tradewind.domain.calendars import periods_per_year
from tradewind.domain.progress import Progress
from tradewind.features import build_features
from tradewind.storage import runs
from tradewind.storage.backtests import save_result
from tradewind.storage.catalog import list_instruments, store_config
from tradewind.storage.market import load_bars

if TYPE_CHECKING:
    from tradewind.registry.tracking import Tracking


class BacktestInputError(ValueError):
    """The run cannot start: no data, an unknown strategy, a bad features config."""


@dataclass
class BacktestRun:
    run_id: str
    results: list[BacktestResult]
    marks: dict[str, Any] = field(default_factory=dict)  # as recorded on the run

    def to_json(self) -> dict[str, Any]:
        def clean(m: dict[str, float]) -> dict[str, Any]:
            return {k: (v if np.isfinite(v) else str(v)) for k, v in m.items()}

        per = [
            {
                "strategy": r.strategy,
                "params": r.params,
                "trades": count_trades(r.trades),
                "metrics": clean(r.metrics),
            }
            for r in self.results
        ]
        return {
            "run_id": self.run_id,
            "trades": sum(p["trades"] for p in per),
            "metrics": per[0]["metrics"] if per else {},
            "results": per,
            "marks": self.marks,
            "in_sample": bool(self.marks.get("in_sample")),
        }


Columns = dict[str, np.ndarray]


def load_inputs(
    engine: Engine, cfg: BacktestConfig, feature_spec: FeatureSpec | None = None
) -> tuple[dict[str, BarSeries], dict[str, Columns]]:
    """Bars and feature columns for every instrument; BacktestInputError when any is empty.

    ``feature_spec`` replaces the config's ``features`` file (a sweep's per-point SMAs)."""
    bars, features, _ = load_inputs_with_warmup(engine, cfg, feature_spec)
    return bars, features


def load_inputs_with_warmup(
    engine: Engine, cfg: BacktestConfig, feature_spec: FeatureSpec | None = None
) -> tuple[dict[str, BarSeries], dict[str, Columns], dict[str, Columns]]:
    """``load_inputs`` and, per instrument, the feature columns over the up to
    ``warmup_bars`` bars before ``start`` (computed, never traded): a model's observation
    window on the range's first bars reaches back into them, as in training and live."""
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
    features, warm = {}, {}
    for symbol, series in bars.items():
        frame = build_features(history[symbol], spec)
        skip = len(history[symbol]) - len(series)  # the warm-up rows: computed, not traded
        features[symbol] = {c: frame.values[skip:, i] for i, c in enumerate(frame.columns)}
        warm[symbol] = {c: frame.values[:skip, i] for i, c in enumerate(frame.columns)}
    return bars, features, warm


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


@dataclass(frozen=True)
class Overrides:
    """Contract checks a person explicitly lets a backtest pass; each use is recorded on the
    run (``runs.marks["allowed"]``)."""

    allow_other_instrument: bool = False  # a model trained on another instrument
    allow_other_side: bool = False  # a model trained on another price side (mid/bid/ask)


_FLAGS = {"instrument": "--allow-other-instrument", "side": "--allow-other-side"}


def _resolve_models(
    cfg: BacktestConfig,
    spec: FeatureSpec,
    features: dict[str, dict[str, np.ndarray]],
    tracking: Tracking | None,
    overrides: Overrides,
) -> dict[int, tuple[Any, dict[str, Any]]]:
    """Load each ``model:`` strategy's registered model and check its contract against the
    features this run computes (columns, feature spec, timeframe) and the instruments and
    price side it trades: a mismatch stops the run before it is recorded, naming the
    difference (another instrument or side only unless ``overrides`` allow it)."""
    uris = _model_uris(cfg)
    if not uris:
        return {}
    from tradewind.pipelines.models import load_checked_policy
    from tradewind.policy import ContractMismatch, OtherMarket
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
                uri,
                spec=spec,
                columns=computed,
                timeframe=cfg.timeframe,
                tracking=tracking,
                instruments=cfg.instruments,
                side=cfg.side,
                allow_other_instrument=overrides.allow_other_instrument,
                allow_other_side=overrides.allow_other_side,
            )
        except OtherMarket as exc:
            flag = _FLAGS[exc.what]
            raise BacktestInputError(
                f"{uri}: {exc}: refused (run it anyway with {flag}; the run records it)"
            ) from exc
        except ContractMismatch as exc:
            raise BacktestInputError(f"{uri}: {exc}") from exc
        except (ModelNotFound, TrackingError, ValueError) as exc:
            raise BacktestInputError(f"strategy model {uri}: {exc}") from exc
        out[i] = (policy, {MODEL_PARAM: uri, "model_version": str(version)})
    return out


def _model_marks(
    cfg: BacktestConfig,
    models: dict[int, tuple[Any, dict[str, Any]]],
    bars: dict[str, BarSeries],
    tracking: Tracking | None,
) -> dict[str, Any]:
    """What the run should be read with: ``in_sample``, the models it runs on bars they
    trained or validated on (``pipelines.models.seen_overlap``), and ``allowed``, each
    contract check an override let pass. Empty when neither applies."""
    from tradewind.pipelines.models import model_data_range, seen_overlap
    from tradewind.storage.types import us_to_datetime

    first = us_to_datetime(min(int(b.ts[0]) for b in bars.values()))
    last = us_to_datetime(max(int(b.ts[-1]) for b in bars.values()))
    in_sample: list[dict[str, Any]] = []
    allowed: list[dict[str, Any]] = []
    for i, (policy, stored) in models.items():
        strategy = cfg.strategies[i].result_name
        name = str(stored[MODEL_PARAM]).removeprefix("models:/").split("@")[0].split("/")[0]
        version = str(stored["model_version"])
        model = f"models:/{name}/{version}"
        contract = policy.contract
        other = contract.other_markets(cfg.instruments, cfg.side)
        for what, run_on in (("instrument", other.get("instruments")), ("side", other.get("side"))):
            if run_on:
                trained_on = contract.instrument if what == "instrument" else contract.side
                allowed.append(
                    {
                        "strategy": strategy,
                        "model": model,
                        "check": what,
                        "trained_on": trained_on,
                        "run_on": run_on if isinstance(run_on, str) else ", ".join(run_on),
                        "flag": _FLAGS[what],
                    }
                )
        data_range = model_data_range(tracking, name, version)
        overlap = seen_overlap(data_range, cfg.instruments, str(cfg.timeframe), first, last)
        if overlap is not None:
            in_sample.append({"strategy": strategy, "model": model, **overlap})
    marks: dict[str, Any] = {}
    if in_sample:
        marks["in_sample"] = in_sample
    if allowed:
        marks["allowed"] = allowed
    return marks


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
    overrides: Overrides | None = None,
    progress: Progress | None = None,
) -> BacktestRun:
    """Run and store ``cfg``. With ``feature_spec`` (instead of the ``features`` file), that
    spec is stored too and the stored run config's ``features`` reads ``config:<its
    fingerprint>``, so the run records exactly which features it used. ``tracking`` (the
    model registry, from the caller's composition root) is needed only by ``model:``
    strategies; ``overrides`` lets contract checks pass that would refuse them (recorded on
    the run, as are models run on their own training or validation data: ``runs.marks``).
    ``progress(done, total)`` hears of each strategy backtested."""
    classes = [load_strategy(s.name, Path(strategies_dir)) for s in cfg.strategies]
    for i, (s, cls) in enumerate(zip(cfg.strategies, classes, strict=True)):
        # a `model:` URI becomes the strategy's `policy` (see _resolve_models)
        given = ["policy" if k == MODEL_PARAM else k for k in s.params]
        check_params(cls, given, f"strategies[{i}] {s.result_name} ({s.name})")
    spec = feature_spec if feature_spec is not None else load_config(cfg.features, FeatureSpec)
    bars, features, warm = load_inputs_with_warmup(engine, cfg, spec)
    models = _resolve_models(cfg, spec, features, tracking, overrides or Overrides())
    marks = _model_marks(cfg, models, bars, tracking) if models else {}
    spreads = load_spreads(engine, cfg, bars) if cfg.costs.spread == "data" else None
    if feature_spec is not None:
        with engine.begin() as conn:
            spec_fp = store_config(conn, feature_spec, feature_spec.name)
        cfg = cfg.model_copy(update={"features": f"config:{spec_fp}"})
    with engine.connect() as conn:  # buy-and-hold of the benchmark, by default the first
        bench = load_bars(
            conn,
            cfg.benchmark or cfg.instruments[0],
            cfg.timeframe,
            PriceSide(cfg.side),
            cfg.start,
            cfg.end,
        )
    ppy, precision, pips = instrument_terms(engine, cfg.instruments, cfg.timeframe)
    run_id = runs.start_run(engine, "backtest", cfg, name=cfg.name)
    if marks:
        with engine.begin() as conn:
            runs.record_marks(conn, run_id, marks)
    try:
        results = []
        for i, (strat, cls) in enumerate(zip(cfg.strategies, classes, strict=True)):
            params = dict(strat.params)
            stored = dict(params)
            if i in models:
                policy, stored_model = models[i]
                params.pop(MODEL_PARAM)
                params["policy"] = policy
                # the window of the first bars reaches into the warm-up, as in training
                params["history"] = warm
                stored.update(stored_model)
            result = run_backtrader(
                bars,
                features,
                cls,
                params,
                cfg,
                strat.result_name,
                spreads=spreads,
                periods_per_year=ppy,
                units_precision=precision,
                pip_locations=pips,
            )
            result.params = stored
            bench_ret = (
                _benchmark_returns(bench, result.ts_us)
                if bench is not None and len(bench)
                else None
            )
            result.metrics = compute_metrics(result, ppy, bench_ret)
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
    return BacktestRun(run_id, results, marks)


class InstrumentTerms(NamedTuple):
    """What a backtest takes from the security master about its instruments."""

    periods_per_year: float  # bars a year on the instruments' trading calendars
    units_precision: dict[str, int]  # decimals of a unit count, per symbol
    pip_locations: dict[str, int]  # a pip is 10**pip_location (fixed spreads are in pips)


def instrument_terms(
    engine: Engine, symbols: tuple[str, ...], timeframe: Timeframe
) -> InstrumentTerms:
    """Bars a year of ``timeframe`` on the instruments' trading calendars (252 trading days
    for equities, 260 for FX, intraday bars by session length), each instrument's unit
    precision and pip location, from the security master."""
    with engine.connect() as conn:
        found = list_instruments(conn, list(symbols))
    return InstrumentTerms(
        periods_per_year([i.calendar for i in found], timeframe),
        {i.id.symbol: i.trade_units_precision for i in found},
        {i.id.symbol: i.pip_location for i in found},
    )


__all__ = [
    "BacktestInputError",
    "BacktestRun",
    "InstrumentTerms",
    "Overrides",
    "instrument_terms",
    "load_inputs",
    "load_inputs_with_warmup",
    "run_backtest",
]
