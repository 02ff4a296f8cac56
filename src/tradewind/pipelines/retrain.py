"""Retrain a model and let a gate decide whether it replaces the champion.

``train_challenger`` trains a new version of a model config for one run key (an Airflow
run's logical date); ``judge_challenger`` backtests it and the champion by version on the
same held-out window, applies the gate (``tradewind.config.promotion``), aliases the
challenger ``champion`` or ``challenger``, tags both versions with the decision and stores it
in ``model_promotions``. ``retrain`` does both.

With rolling splits in the gate (``tradewind.pipelines.rolling``) the challenger trains on the
model config with its splits rolled to the run's date, and the held-out window is the rolled
one (later when the champion saw part of it); without, on the config's own split dates.

Idempotent per (model, run key): a stored decision is returned as it is, nothing trained or
run again; a challenger trained for the run key before a crash is found by its tag and
judged, not trained a second time.

``judge_version`` applies the same gate and steps to a version trained elsewhere (the demo).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tradewind.config import load_config
from tradewind.config.models import ModelConfig
from tradewind.config.promotion import PromotionGate
from tradewind.pipelines.backtest import BacktestRun
from tradewind.pipelines.gate import judge
from tradewind.pipelines.heldout import (
    RetrainRefused,
    backtest_version,
    config_seen_until,
    held_out_window,
    seen_until,
)
from tradewind.pipelines.rolling import RetrainPlan, retrain_plan
from tradewind.pipelines.train import train
from tradewind.registry.tracking import Tracking
from tradewind.registry.versions import (
    alias_version,
    set_alias,
    set_version_tags,
    version_tags,
    versions_tagged,
)
from tradewind.storage import promotions
from tradewind.storage.backtests import json_metrics
from tradewind.storage.promotions import Promotion

CHAMPION, CHALLENGER = "champion", "challenger"
RUN_KEY_TAG = "tradewind.retrain.run_key"
VERSUS_TAG = "tradewind.retrain.champion_version"  # the champion when it was trained ("" none)
SPLITS_TAG = "tradewind.retrain.splits"  # fixed, or rolling with the train/validation/held-out
PROMOTION = "tradewind.promotion."


@dataclass(frozen=True)
class Challenger:
    model_name: str
    version: str | None  # None when the decision was already stored
    trained: bool  # False: found (trained earlier for this run key) or already decided
    champion_version: str | None
    decided: Promotion | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "version": self.version,
            "trained": self.trained,
            "champion_version": self.champion_version,
            "decided": self.decided.decision if self.decided else None,
        }


@dataclass(frozen=True)
class Outcome:
    promotion: Promotion
    fresh: bool  # decided by this call (False: the stored decision of an earlier run)

    def to_json(self) -> dict[str, Any]:
        return {**self.promotion.to_json(), "fresh": self.fresh}


def _model(config: str | Path | ModelConfig) -> ModelConfig:
    return config if isinstance(config, ModelConfig) else load_config(config, ModelConfig)


def _plan(config: str | Path | ModelConfig, gate: PromotionGate, as_of: datetime) -> RetrainPlan:
    return retrain_plan(_model(config), gate, as_of)


def _splits_tag(plan: RetrainPlan) -> str:
    if not plan.rolling:
        return "fixed"
    s = plan.cfg.splits
    return (
        f"rolling train={s.train.start.isoformat()}/{s.train.end.isoformat()} "
        f"validation={s.validation.start.isoformat()}/{s.validation.end.isoformat()} "
        f"held_out={s.test.start.isoformat()}/{s.test.end.isoformat()}"
    )


def train_challenger(
    engine: Engine,
    config: str | Path | ModelConfig,
    gate: PromotionGate,
    *,
    run_key: str,
    as_of: datetime,
    tracking: Tracking,
) -> Challenger:
    """A challenger version of ``config`` for ``run_key``: the stored decision's, the one
    trained for this run key already, or a new training of the config (its splits rolled to
    ``as_of`` when the gate rolls), refused first, without training, when its validation end
    and the champion's leave no long enough held-out window before ``as_of``."""
    plan = _plan(config, gate, as_of)
    cfg = plan.cfg
    stored = promotions.get(engine, cfg.name, run_key)
    if stored is not None:
        return Challenger(
            cfg.name, stored.challenger_version, False, stored.champion_version, stored
        )
    found = versions_tagged(tracking, cfg.name, RUN_KEY_TAG, run_key)
    if found:
        versus = version_tags(tracking, cfg.name, found[-1]).get(VERSUS_TAG) or None
        return Challenger(cfg.name, found[-1], False, versus)
    champion = alias_version(tracking, cfg.name, CHAMPION)
    seen = config_seen_until(cfg)
    if champion is not None:
        seen = max(seen, seen_until(tracking, cfg.name, champion))
    # refuses before training
    held_out_window(engine, cfg, gate, seen, plan.end, not_before=plan.not_before)
    result = train(engine, cfg, tracking=tracking)
    set_version_tags(
        tracking,
        cfg.name,
        result.model_version,
        {RUN_KEY_TAG: run_key, VERSUS_TAG: champion or "", SPLITS_TAG: _splits_tag(plan)},
    )
    return Challenger(cfg.name, result.model_version, True, champion)


def judge_challenger(
    engine: Engine,
    config: str | Path | ModelConfig,
    gate: PromotionGate,
    challenger: Challenger,
    *,
    run_key: str,
    as_of: datetime,
    tracking: Tracking,
    strategies_dir: str | Path = "strategies",
) -> Outcome:
    """Backtest the challenger and the champion on the same held-out window, apply the gate,
    alias, tag and store the decision (the stored one when ``run_key`` has one)."""
    plan = _plan(config, gate, as_of)
    cfg = plan.cfg
    stored = challenger.decided or promotions.get(engine, cfg.name, run_key)
    if stored is not None:
        return Outcome(stored, False)
    if challenger.version is None:
        raise ValueError(f"model {cfg.name}: no challenger version to judge for {run_key}")
    version, champion = challenger.version, challenger.champion_version
    seen = seen_until(tracking, cfg.name, version)
    if champion is not None:
        seen = max(seen, seen_until(tracking, cfg.name, champion))
    window = held_out_window(engine, cfg, gate, seen, plan.end, not_before=plan.not_before)

    def run(v: str, role: str) -> BacktestRun:
        return backtest_version(
            engine,
            cfg,
            gate,
            v,
            window,
            role=role,
            tracking=tracking,
            strategies_dir=strategies_dir,
        )

    ours = run(version, CHALLENGER)
    theirs = run(champion, CHAMPION) if champion is not None else None
    ours_m = ours.results[0].metrics
    theirs_m = theirs.results[0].metrics if theirs is not None else None
    verdict = judge(gate, ours_m, theirs_m)
    decision = "promoted" if verdict.passed else "rejected"
    promotion = Promotion(
        model_name=cfg.name,
        run_key=run_key,
        challenger_version=version,
        champion_version=champion,
        decision=decision,
        reason=verdict.reason,
        gate=gate.model_dump(mode="json"),
        challenger_metrics=json_metrics(ours_m),
        champion_metrics=json_metrics(theirs_m) if theirs_m is not None else {},
        window_start=window.start,
        window_end=window.end,
        challenger_run_id=ours.run_id,
        champion_run_id=theirs.run_id if theirs is not None else None,
        decided_at=datetime.now(UTC),
    )
    _tag(tracking, promotion, gate)
    set_alias(tracking, cfg.name, CHAMPION if verdict.passed else CHALLENGER, version)
    stored, fresh = promotions.record(engine, promotion)
    return Outcome(stored, fresh)


def _tag(tracking: Tracking, p: Promotion, gate: PromotionGate) -> None:
    """The decision on both versions: what happened, why, the metric, the window, the run."""
    window = f"{p.window_start.isoformat()}/{p.window_end.isoformat()}"
    common = {"reason": p.reason[:5000], "window": window, "run_key": p.run_key, "gate": gate.name}

    def metric(metrics: dict[str, Any]) -> str:
        return f"{gate.metric}={metrics.get(gate.metric, 'nan')}"

    set_version_tags(
        tracking,
        p.model_name,
        p.challenger_version,
        {
            f"{PROMOTION}{k}": v
            for k, v in {
                **common,
                "decision": p.decision,
                "role": CHALLENGER,
                "metric": metric(p.challenger_metrics),
                "versus": p.champion_version or "",
                "backtest_run_id": p.challenger_run_id or "",
            }.items()
        },
    )
    if p.champion_version is None:
        return
    set_version_tags(
        tracking,
        p.model_name,
        p.champion_version,
        {
            f"{PROMOTION}{k}": v
            for k, v in {
                **common,
                "decision": "replaced" if p.promoted else "kept",
                "role": CHAMPION,
                "metric": metric(p.champion_metrics),
                "versus": p.challenger_version,
                "backtest_run_id": p.champion_run_id or "",
            }.items()
        },
    )


def judge_version(
    engine: Engine,
    config: str | Path | ModelConfig,
    gate: PromotionGate,
    version: str,
    *,
    run_key: str,
    tracking: Tracking,
    as_of: datetime | None = None,
    strategies_dir: str | Path = "strategies",
) -> Outcome:
    """Judge a version trained outside the retraining job (the demo's, a person's) by the
    job's own gate and steps: backtested, with the champion when there is one, on the bars
    after both saw, up to ``as_of`` (default: the config's test split end); aliased
    ``champion`` only when it passes, else ``challenger``; tagged and stored like the job's
    decisions (idempotent per ``run_key``)."""
    cfg = _model(config)
    champion = alias_version(tracking, cfg.name, CHAMPION)
    if champion == str(version):
        champion = None  # judging the champion itself: by the absolute checks only
    challenger = Challenger(cfg.name, str(version), False, champion)
    return judge_challenger(
        engine,
        cfg,
        gate,
        challenger,
        run_key=run_key,
        as_of=as_of if as_of is not None else cfg.splits.test.end,
        tracking=tracking,
        strategies_dir=strategies_dir,
    )


def retrain(
    engine: Engine,
    config: str | Path | ModelConfig,
    gate: PromotionGate,
    *,
    run_key: str,
    as_of: datetime,
    tracking: Tracking,
    strategies_dir: str | Path = "strategies",
) -> Outcome:
    """Train a challenger of ``config`` and judge it against the champion (see the module)."""
    cfg = _model(config)
    challenger = train_challenger(
        engine, cfg, gate, run_key=run_key, as_of=as_of, tracking=tracking
    )
    return judge_challenger(
        engine,
        cfg,
        gate,
        challenger,
        run_key=run_key,
        as_of=as_of,
        tracking=tracking,
        strategies_dir=strategies_dir,
    )


__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "Challenger",
    "Outcome",
    "RetrainRefused",
    "judge_challenger",
    "judge_version",
    "retrain",
    "train_challenger",
]
