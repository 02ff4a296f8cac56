"""Train a model config: bars from the security master -> features -> learner -> MLflow.

Every failure a user can cause (a bad config, missing bars, an unknown feature column, a
split without bars) is found before the run is recorded, and reported in one line. Then one
run in our run store (kind ``train``) and one MLflow run record the training; the model is
registered under the config's ``name`` as a new version. A failure after that marks both
runs failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from tradewind.config import load_config
from tradewind.config.features import FeatureSpec
from tradewind.config.models import ModelConfig, RLLearner
from tradewind.domain import PriceSide
from tradewind.domain.progress import Progress
from tradewind.features import build_features
from tradewind.pipelines.backtest import InstrumentTerms, instrument_terms
from tradewind.policy import MetricSink, ModelContract, ModelData, ObservationBuilder, TrainedModel
from tradewind.policy.features import feature_definitions
from tradewind.registry.log import log_trained, mlflow_sink, training_run
from tradewind.registry.tracking import Tracking, configure
from tradewind.storage import runs
from tradewind.storage.catalog import store_config
from tradewind.storage.market import load_bars
from tradewind.storage.types import us_to_datetime


class TrainInputError(ValueError):
    """The training cannot start: no bars, a bad features config, an empty split."""


@dataclass
class TrainResult:
    model_name: str
    model_version: str
    mlflow_run_id: str
    run_id: str  # ours (the run store)
    model_uri: str
    learner: str
    algo: str
    metrics: dict[str, float] = field(default_factory=dict)
    tracking_uri: str = ""  # password masked

    @property
    def validation_metrics(self) -> dict[str, float]:
        return {k: v for k, v in self.metrics.items() if k.startswith("val_")}

    def to_json(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "model_uri": self.model_uri,
            "mlflow_run_id": self.mlflow_run_id,
            "run_id": self.run_id,
            "learner": self.learner,
            "algo": self.algo,
            "tracking_uri": self.tracking_uri,
            "metrics": _json_metrics(self.metrics),
            "validation_metrics": _json_metrics(self.validation_metrics),
        }


def _json_metrics(m: dict[str, float]) -> dict[str, Any]:
    return {k: (float(v) if np.isfinite(v) else str(v)) for k, v in sorted(m.items())}


def load_training_data(
    engine: Engine, cfg: ModelConfig, spec: FeatureSpec, terms: InstrumentTerms | None = None
) -> ModelData:
    """Bars over ``[splits.train.start, splits.test.end)``, the features of ``spec`` over them,
    the split rows, and the instrument's pip and unit precision from the security master
    (``terms``, looked up when not given: ``instrument_terms``, as a backtest of the model
    looks them up); ``TrainInputError`` naming the data when any of it is missing, or when
    the config's deprecated ``env.pip_location`` contradicts the security master."""
    if terms is None:
        terms = instrument_terms(engine, (cfg.instrument,), cfg.timeframe)
    start, end = cfg.splits.train.start, cfg.splits.test.end
    with engine.connect() as conn:
        bars = load_bars(conn, cfg.instrument, cfg.timeframe, PriceSide(cfg.side), start, end)
    if len(bars) == 0:
        raise TrainInputError(
            f"no {cfg.instrument} {cfg.timeframe} {cfg.side} bars in [{start}, {end}) for "
            f"model {cfg.name}: import them (tradewind data import FILE --instrument "
            f"{cfg.instrument} --timeframe {cfg.timeframe}) or synthesize them (tradewind data "
            f"synth --instrument {cfg.instrument} --timeframe {cfg.timeframe}); "
            "tradewind data ls shows what is stored"
        )
    pip, precision = check_instrument_terms(cfg, terms)
    try:
        frame = build_features(bars, spec)
        return ModelData.build(
            bars,
            frame.columns,
            frame.values,
            spec.fingerprint,
            cfg,
            pip_location=pip,
            units_precision=precision,
        )
    except ValueError as exc:
        raise TrainInputError(str(exc)) from None


def check_instrument_terms(cfg: ModelConfig, terms: InstrumentTerms) -> tuple[int, int | None]:
    """The instrument's pip location and unit precision from ``terms`` (the security
    master's). ``env.pip_location`` is deprecated: the pip is the instrument's; a config that
    still sets it must agree (TrainInputError otherwise: a USD_JPY model trained with
    EUR_USD's pip would charge a hundredth of its fixed spread)."""
    pip = terms.pip_locations.get(cfg.instrument)
    if pip is None:
        raise TrainInputError(
            f"{cfg.instrument} is not in the security master: add it (tradewind instruments "
            "add) so training and backtests price it on the same terms"
        )
    given = cfg.env.pip_location
    if given is not None and given != pip:
        raise TrainInputError(
            f"model {cfg.name}: env.pip_location {given} contradicts the security master's "
            f"pip location {pip} for {cfg.instrument}; env.pip_location is deprecated (training "
            "takes the instrument's pip, as backtests do): remove it from the config"
        )
    return pip, terms.units_precision.get(cfg.instrument)


def example_observations(data: ModelData, contract: ModelContract, rows: int = 2) -> np.ndarray:
    """A few observations from the validation split (flat position state), for MLflow's input
    example; empty when the split has no complete window."""
    builder = ObservationBuilder(contract)
    try:
        matrix = builder.matrix(dict(zip(data.columns, data.values.T, strict=True)))
    except KeyError:
        return np.empty((0, contract.obs_dim), dtype=np.float32)
    scaled = builder.scale(matrix)
    sl = data.rows["validation"]
    first = max(builder.first_valid(scaled), sl.start, contract.window - 1)
    state = (0.0, 0.0, 0.0) if contract.position_state else None
    out = [
        builder.observe(scaled, t, state).copy() for t in range(first, min(first + rows, sl.stop))
    ]
    return np.asarray(out, dtype=np.float32).reshape(-1, contract.obs_dim)


def fit(
    cfg: ModelConfig,
    data: ModelData,
    *,
    timesteps: int | None = None,
    progress: Progress | None = None,
    on_metrics: MetricSink | None = None,
    periods_per_year: float | None = None,
) -> TrainedModel:
    """Dispatch to the learner the config names (imported on demand: torch only for RL).
    ``periods_per_year`` annualises the trading metrics (``train`` passes the instrument's,
    as a backtest does; default: the FX year of ``cfg.timeframe``)."""
    if isinstance(cfg.learner, RLLearner):
        from tradewind.rl.train import train_rl

        return train_rl(
            cfg,
            data,
            timesteps=timesteps,
            on_metrics=on_metrics,
            progress=progress,
            periods_per_year=periods_per_year,
        )
    from tradewind.ml.train import train_supervised

    return train_supervised(
        cfg, data, on_metrics=on_metrics, progress=progress, periods_per_year=periods_per_year
    )


def train(
    engine: Engine,
    config: str | Path | ModelConfig,
    *,
    timesteps: int | None = None,
    progress: Progress | None = None,
    tracking: Tracking,
) -> TrainResult:
    """Train ``config`` (a ``kind: model`` file or config), log it to ``tracking`` (MLflow,
    built by the caller's composition root from its settings), register it."""
    cfg = config if isinstance(config, ModelConfig) else load_config(config, ModelConfig)
    spec = load_config(cfg.features, FeatureSpec)
    # the instrument's year, pip and unit precision, looked up as a backtest of it does: one
    # rule for both
    terms = instrument_terms(engine, (cfg.instrument,), cfg.timeframe)
    data = load_training_data(engine, cfg, spec, terms)
    ppy = terms.periods_per_year
    configure(tracking)
    with engine.begin() as conn:
        store_config(conn, spec, spec.name)
    run_id = runs.start_run(engine, "train", cfg, name=cfg.name)
    try:
        with engine.begin() as conn:
            runs.record_data_range(conn, run_id, int(data.bars.ts[0]), int(data.bars.ts[-1]))
        with training_run(tracking, cfg, run_id, spec) as mrun:
            trained = fit(
                cfg,
                data,
                timesteps=timesteps,
                progress=progress,
                on_metrics=mlflow_sink(mrun),
                periods_per_year=ppy,
            )
            # what each column means, so a backtest with other definitions is refused by name
            trained.contract = trained.contract.model_copy(
                update={"feature_defs": feature_definitions(spec, trained.contract.feature_columns)}
            )
            registered = log_trained(
                trained,
                cfg,
                spec,
                _data_range(cfg, data),
                run=mrun,
                example_obs=example_observations(data, trained.contract),
            )
    except BaseException as exc:
        runs.finish_run(engine, run_id, "failed", {}, f"{type(exc).__name__}: {exc}")
        raise
    result = TrainResult(
        model_name=registered.name,
        model_version=registered.version,
        mlflow_run_id=registered.mlflow_run_id,
        run_id=run_id,
        model_uri=registered.model_uri,
        learner=cfg.learner.type,
        algo=trained.contract.algo,
        metrics={k: float(v) for k, v in trained.metrics.items()},
        tracking_uri=tracking.display,
    )
    summary = {k: v for k, v in result.to_json().items() if k != "run_id"}
    runs.finish_run(engine, run_id, "succeeded", summary)
    return result


def _data_range(cfg: ModelConfig, data: ModelData) -> dict[str, Any]:
    """The series, its first and last bar, and each split's first/last bar and bar count."""

    def iso(us: int) -> str:
        return us_to_datetime(int(us)).isoformat()

    ts = data.bars.ts
    out: dict[str, Any] = {
        "instrument": cfg.instrument,
        "timeframe": str(cfg.timeframe),
        "side": cfg.side,
        "first_bar": iso(ts[0]),
        "last_bar": iso(ts[-1]),
        "bars": len(ts),
    }
    for name, sl in data.rows.items():
        if sl.stop > sl.start:
            out[name] = {
                "first_bar": iso(ts[sl.start]),
                "last_bar": iso(ts[sl.stop - 1]),
                "bars": sl.stop - sl.start,
            }
    return out


__all__ = [
    "TrainInputError",
    "TrainResult",
    "check_instrument_terms",
    "example_observations",
    "fit",
    "load_training_data",
    "train",
]
