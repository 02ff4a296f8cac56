"""Build and run the live trader from a ``kind: live`` config (the composition root's part
that the CLI, the demo and the tests share).

``build_trader`` wires the real parts: the broker adapter, the OMS on the database, the
latched kill switch (scope: the account), per deployment its feature config, warm-up bars
from the database, the decision code (a registered model is contract-checked here and
refused on a mismatch), pre-trade risk and VaR, and the execution algorithm.

A model deployment starts on its launched model (``live_models.desired_model``, set by
``pipelines.launch``) when there is one, else on the model it ran last, else on the config's
``model:``; it reports the version it runs (``live_model``), and the trader's
``ModelSwitch`` picks up later launches at bar boundaries (``live.models``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from tradewind.broker.ports import Broker
from tradewind.config.features import FeatureSpec
from tradewind.config.live import DeploymentConfig, LiveConfig
from tradewind.config.loader import load_config
from tradewind.config.risk import RiskLimits
from tradewind.domain import BarSeries, PriceSide, Timeframe
from tradewind.domain.orders import OrderRecord
from tradewind.live.bars import BarAggregator
from tradewind.live.decisions import LiveDecision
from tradewind.live.desk import Desk, Lane
from tradewind.live.lease import Lease, LeaseHeld
from tradewind.live.models import ModelRefused, ModelSwitch, SwitchedDeployment
from tradewind.live.trader import Trader
from tradewind.oms import OmsEvent, OrderManager
from tradewind.oms.execution import make_algo
from tradewind.oms.worker import OrderWorker
from tradewind.pipelines.models import load_checked_policy
from tradewind.risk import KillSwitch, PortfolioVaR, PreTradeRisk, RiskDecision
from tradewind.signals import Decider
from tradewind.storage import live as live_store
from tradewind.storage.lease import SqlLeaseStore
from tradewind.storage.live import SqlLiveStore
from tradewind.storage.live_models import SqlLiveModels
from tradewind.storage.market import load_bars
from tradewind.storage.oms import SqlOmsStore
from tradewind.storage.risk import SqlKillSwitchStore, record_risk_event

log = logging.getLogger(__name__)


class LiveStartError(RuntimeError):
    """The trader cannot start: a config, model, data or broker problem, named."""


def account_limits(cfg: LiveConfig) -> RiskLimits:
    """The account's kill switch limits: the strictest of its deployments'."""
    limits = [d.risk for d in cfg.deployments]

    def strictest(name: str) -> Any:
        values = [getattr(x, name) for x in limits if getattr(x, name) is not None]
        return min(values) if values else None

    return limits[0].model_copy(
        update={
            n: strictest(n)
            for n in ("max_daily_loss", "max_drawdown", "max_reject_streak", "max_error_streak")
        }
    )


def history(
    engine: Engine, symbol: str, timeframe: Timeframe, count: int, before_us: int
) -> BarSeries:
    """The last ``count`` stored mid bars that ended by ``before_us``."""
    if count == 0:
        return BarSeries.empty()
    end = datetime.fromtimestamp(before_us / 1e6, tz=UTC)
    with engine.connect() as conn:
        try:
            bars = load_bars(conn, symbol, timeframe, PriceSide.MID, None, end)
        except LookupError as exc:
            raise LiveStartError(f"warm-up bars of {symbol}: {exc}") from exc
    if len(bars) and int(bars.ts[-1]) + timeframe.seconds * 1_000_000 > before_us:
        bars = bars.take(np.arange(len(bars) - 1))  # still forming at ``before_us``
    return bars.take(np.arange(max(0, len(bars) - count), len(bars)))


@dataclass
class Built:
    trader: Trader
    oms: OrderManager
    desk: Desk
    kill: KillSwitch
    worker: OrderWorker


@dataclass(frozen=True)
class LoadedModel:
    """A deployment's policy, contract-checked, and the version it is (``models:/N/V``)."""

    policy: Any
    model: str


def load_model(d: DeploymentConfig, spec: FeatureSpec, uri: str, tracking: Any) -> LoadedModel:
    """Model ``uri`` for deployment ``d``, its contract checked against the deployment's
    features: ``ModelRefused`` for a mismatch or an unknown model/version (final), the
    registry's own errors (``TrackingError``) when it cannot be reached."""
    from tradewind.policy import ContractMismatch
    from tradewind.registry import ModelNotFound, parse_ref

    try:
        policy, version = load_checked_policy(
            uri,
            spec=spec,
            columns=tuple(spec.columns),
            timeframe=d.timeframe,
            tracking=tracking,
            instruments=tuple(d.instruments),
        )
    except ContractMismatch as exc:
        raise ModelRefused(f"contract mismatch: {exc}") from exc
    except (ModelNotFound, ValueError) as exc:
        raise ModelRefused(str(exc)) from exc
    return LoadedModel(policy, f"models:/{parse_ref(uri).name}/{version}")


def load_policy_for(d: DeploymentConfig, spec: FeatureSpec, tracking: Any) -> Any:
    """A ``model:`` deployment's policy, its contract checked against the deployment's
    features (a mismatch refuses to start, naming the difference); None for a function."""
    if d.strategy.model is None:
        return None
    return _start_model(d, spec, d.strategy.model, tracking).policy


def _start_model(d: DeploymentConfig, spec: FeatureSpec, uri: str, tracking: Any) -> LoadedModel:
    from tradewind.registry import TrackingError

    try:
        return load_model(d, spec, uri, tracking)
    except ModelRefused as exc:
        raise LiveStartError(f"deployment {d.name}: model {uri}: {exc}") from exc
    except TrackingError as exc:
        raise LiveStartError(f"deployment {d.name}: model {uri}: {exc}") from exc


def load_policies(cfg: LiveConfig, tracking: Any = None) -> dict[str, LoadedModel]:
    """Every model deployment's model by deployment name (loading a model takes seconds:
    do it before a fast-clock venue starts)."""
    out = {}
    for d in cfg.deployments:
        if d.strategy.model is not None:
            spec = load_config(d.features, FeatureSpec)
            out[d.name] = _start_model(d, spec, d.strategy.model, tracking)
    return out


def starting_model(
    d: DeploymentConfig,
    spec: FeatureSpec,
    tracking: Any,
    models: SqlLiveModels,
    preloaded: LoadedModel | None = None,
) -> LoadedModel:
    """The model a deployment starts on: the launched one (``live_models.desired_model``)
    when set, else the one it ran last, else the config's. A launched model that cannot go
    live is refused with the reason (``detail``) and the next candidate is tried."""
    assert d.strategy.model is not None
    state = models.get(d.name)
    candidates = [m for m in (state.desired_model, state.live_model) if m] if state else []
    for uri in dict.fromkeys(candidates):
        if preloaded is not None and preloaded.model == uri:
            return preloaded
        try:
            return _start_model(d, spec, uri, tracking)
        except LiveStartError as exc:
            log.error("%s; trying the next model", exc)
            if state is not None and uri == state.desired_model:
                models.refuse(d.name, uri, f"refused at start: {exc.__cause__ or exc}")
    return preloaded or _start_model(d, spec, d.strategy.model, tracking)


def model_switch(
    cfg: LiveConfig,
    lanes: list[Lane],
    started: dict[str, LoadedModel],
    models: SqlLiveModels,
    tracking: Any,
) -> ModelSwitch | None:
    """The trader's ``ModelSwitch`` over the config's model deployments (None if none)."""
    deployments = []
    specs: dict[str, tuple[DeploymentConfig, FeatureSpec]] = {}
    for d in cfg.deployments:
        if d.strategy.model is None:
            continue
        specs[d.name] = (d, load_config(d.features, FeatureSpec))
        state = models.get(d.name)
        deployments.append(
            SwitchedDeployment(
                name=d.name,
                decisions=[lane.decision for lane in lanes if lane.deployment == d.name],
                new_decider=partial(_model_decider, d),
                live=started[d.name].model,
                handled=(state.desired_model or "") if state else "",
            )
        )
    if not deployments:
        return None

    def load(name: str, uri: str) -> tuple[Any, str]:
        d, spec = specs[name]
        loaded = load_model(d, spec, uri, tracking)
        return loaded.policy, loaded.model

    return ModelSwitch(models, load, deployments, every_s=cfg.snapshot_every_s)


def _model_decider(d: DeploymentConfig, instrument: str, policy: Any) -> Decider:
    s = d.strategy
    return Decider(
        instrument, policy=policy, max_units=s.max_units, rebalance_threshold=s.rebalance_threshold
    )


def _decision(
    d: DeploymentConfig, symbol: str, bars: BarSeries, spec: FeatureSpec, policy: Any
) -> LiveDecision:
    from tradewind.policy import ContractMismatch

    try:
        return LiveDecision.from_config(d, symbol, bars, spec, policy=policy)
    except (ContractMismatch, LookupError) as exc:
        raise LiveStartError(f"deployment {d.name}: {exc}") from exc


def build_trader(
    engine: Engine,
    cfg: LiveConfig,
    broker: Broker,
    *,
    clock_speed: float = 1.0,
    tracking: Any = None,
    after_send: Callable[[OrderRecord], None] | None = None,
    health: bool = True,
    policies: dict[str, Any] | None = None,
    lease_ttl_s: float | None = None,
) -> Built:
    """Take the account's lease (refusing with ``LiveStartError`` while another process
    trades it), then wire everything; the trader renews the lease and releases it."""
    account_id = broker.account_id
    lease = take_lease(engine, account_id, lease_ttl_s or cfg.lease_ttl_s)
    try:
        return _build(
            engine,
            cfg,
            broker,
            account_id,
            lease,
            clock_speed,
            tracking,
            after_send,
            health,
            policies,
        )
    except BaseException:
        lease.release()
        raise


def take_lease(engine: Engine, account_id: str, ttl_s: float) -> Lease:
    """The account's single-writer lease, or ``LiveStartError`` naming who holds it."""
    try:
        return Lease(SqlLeaseStore(engine), account_id, ttl_s=ttl_s).acquire()
    except LeaseHeld as exc:
        raise LiveStartError(str(exc)) from exc


def _build(  # noqa: C901  wiring of the live trader; being refactored (live/ work)
    engine: Engine,
    cfg: LiveConfig,
    broker: Broker,
    account_id: str,
    lease: Lease,
    clock_speed: float,
    tracking: Any,
    after_send: Callable[[OrderRecord], None] | None,
    health: bool,
    policies: dict[str, Any] | None,
) -> Built:
    rules = broker.instruments()
    instruments = sorted({i for d in cfg.deployments for i in d.instruments})
    unknown = [i for i in instruments if i not in rules]
    if unknown:
        raise LiveStartError(f"account {account_id} cannot trade {', '.join(unknown)}")
    kill_store = SqlKillSwitchStore(engine)
    kill = KillSwitch(kill_store, account_id, account_limits(cfg))

    def on_event(event: OmsEvent) -> None:
        now = event.order.updated_us
        if event.kind == "rejected":
            kill.on_reject(now, event.detail or event.order.reject_reason or "rejected")
        elif event.kind in ("error", "unknown"):
            kill.on_error(now, event.detail or event.kind)
        elif event.kind in ("accepted", "filled"):
            kill.on_accept()

    oms = OrderManager(
        broker, SqlOmsStore(engine), account_id, on_event=on_event, after_send=after_send
    )
    worker = OrderWorker(oms)  # the order calls, off the price thread
    ticks = broker.pricing(instruments)
    now_us = max((t.ts_us for t in ticks), default=0) or (time.time_ns() // 1000)
    histories = {
        (d.name, s): history(engine, s, d.timeframe, d.history_bars, now_us)
        for d in cfg.deployments
        for s in d.instruments
    }
    lanes = []
    live_models = SqlLiveModels(engine)
    started: dict[str, LoadedModel] = {}
    for d in cfg.deployments:
        spec = load_config(d.features, FeatureSpec)
        if d.strategy.model is not None:
            preloaded = (policies or {}).get(d.name)
            started[d.name] = starting_model(d, spec, tracking, live_models, preloaded)
        risk = PreTradeRisk(d.risk, rules)
        var = PortfolioVaR(d.risk)  # fed every instrument of the account (portfolio VaR)
        for (_, s), bars in histories.items():
            for close in bars.close[-(d.risk.var_lookback + 1) :]:
                var.update(s, float(close))
        for symbol in d.instruments:
            loaded = started.get(d.name)
            policy = loaded.policy if loaded is not None else None
            decision = _decision(d, symbol, histories[(d.name, symbol)], spec, policy)
            decision.model = loaded.model if loaded is not None else None

            def new_algo(reason: str, submit: Any, d: DeploymentConfig = d, s: str = symbol):
                return make_algo(
                    d.execution,
                    submit=submit,
                    oms=worker,
                    rules=rules[s],
                    tag=reason,
                    deployment=d.name,
                )

            lanes.append(
                Lane(
                    deployment=d.name,
                    instrument=symbol,
                    bars=BarAggregator(d.timeframe),
                    decision=decision,
                    risk=risk,
                    var=var,
                    new_algo=new_algo,
                )
            )

    def on_risk(deployment: str, decision: RiskDecision) -> None:
        record_risk_event(
            engine,
            scope=account_id,
            deployment=deployment,
            check=decision.check,
            approved=decision.approved,
            reason=decision.reason,
            detail={
                "instrument": decision.intent.instrument,
                "units": decision.intent.units,
                "type": decision.intent.type,
                **({"refused_units": decision.refused_units} if decision.refused_units else {}),
            },
        )

    desk = Desk(
        lanes,
        oms,
        kill,
        worker.submit,
        on_risk=on_risk,
        clock_speed=clock_speed,
        start_us=now_us,
        warm_lead_us=round(cfg.warm_order_path_s * 1_000_000),
    )
    store = SqlLiveStore(engine)
    trader = Trader(
        broker=broker,
        oms=oms,
        desk=desk,
        kill=kill,
        store=store,
        deployments=[d.name for d in cfg.deployments],
        instruments=instruments,
        reconcile_every_s=cfg.reconcile_every_s,
        snapshot_every_s=cfg.snapshot_every_s,
        health=(cfg.health.host, cfg.health.port) if health else None,
        worker=worker,
        order_grace_s=cfg.order_grace_s,
        max_outage_s=cfg.max_outage_s,
        lease=lease,
        models=model_switch(cfg, lanes, started, live_models, tracking),
    )
    config_json = cfg.model_dump(mode="json")
    for d in cfg.deployments:
        store.start(
            d.name,
            account_id=account_id,
            fingerprint=cfg.fingerprint,
            config=config_json,
            health_url=None,
        )
    for name, loaded in started.items():
        live_models.report_live(name, loaded.model)
        log.info("deployment %s starts on %s", name, loaded.model)
    return Built(trader, oms, desk, kill, worker)


def load_live_config(path: Path | str) -> LiveConfig:
    return load_config(path, LiveConfig)


def known_accounts(engine: Engine) -> list[str]:
    """Accounts the OMS or a deployment has seen."""
    return live_store.known_accounts(engine)


def set_kill_switch(engine: Engine, scope: str, state: str, reason: str, by: str) -> Any:
    """A person halts (latches) or resumes (resets) an account's kill switch. The switch's
    store appends the change to the risk events with the record (trigger "operator")."""
    from tradewind.risk import KillState

    kill = KillSwitch(SqlKillSwitchStore(engine), scope, None)
    now = time.time_ns() // 1000
    if KillState(state) is KillState.ACTIVE:
        kill.reset(by, reason, now)
    else:
        kill.trip(KillState(state), reason, now, by=by, trigger="operator")
    return kill.record


def live_status(engine: Engine) -> dict[str, Any]:
    """What ``tradewind live status`` shows: deployments, kill switches, latest P&L."""
    store = SqlLiveStore(engine)
    now = datetime.now(UTC)
    deployments = []
    for d in store.deployments():
        deployments.append(
            {
                **{k: v for k, v in d.items() if not isinstance(v, datetime)},
                "started_at": d["started_at"].isoformat(),
                "heartbeat_at": d["heartbeat_at"].isoformat(),
                "heartbeat_age_s": (now - d["heartbeat_at"]).total_seconds(),
            }
        )
    kills = [
        {
            "scope": k.scope,
            **k.as_json(),  # trading: enabled | reducing_only | halted, reason, by, since
            "state": k.state.value,  # the stored value
            "reason": k.reason,
            "changed_by": k.changed_by,
            "changed_at_us": k.changed_at_us,
        }
        for k in SqlKillSwitchStore(engine).all()
    ]
    pnl = {}
    for acct in known_accounts(engine):
        rows = store.latest_pnl(acct)
        pnl[acct] = [{**r, "at": r["at"].isoformat()} for r in rows]
    return {"deployments": deployments, "kill_switches": kills, "pnl": pnl}
