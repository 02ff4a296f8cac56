"""Launch a model version on a live deployment: preflight, set it desired, wait until live.

The live trader is a long-running service; a launch never runs it. It changes what the
trader *should* run (``live_models.desired_model``) and the trader swaps the version in at
the deployment's next bar boundary and reports it (``live_model``; see ``live.models``).
Rolling back is the same launch with an older version.

``preflight`` runs every check and refuses with all the reasons at once
(``LaunchRefused``): the deployment is in the config and runs a registered model; trading is
not halted on its account (the kill switch); the account's last reconciliation was clean;
the broker answers (one account call); the model version exists and its contract matches the
deployment's features and timeframe (only ``contract.json`` is downloaded, not the model).
An alias (``NAME@champion``) is resolved to its version here, so the launch pins what it
checked. ``set_desired`` is idempotent: the same version again writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from tradewind.broker.ports import Broker
from tradewind.config.features import FeatureSpec
from tradewind.config.live import DeploymentConfig, LiveConfig
from tradewind.config.loader import load_config
from tradewind.risk import KillState
from tradewind.storage.live_models import LiveModelState, SqlLiveModels
from tradewind.storage.oms import SqlOmsStore
from tradewind.storage.risk import SqlKillSwitchStore


class LaunchRefused(RuntimeError):
    """A preflight check failed: nothing was set (the message gives every reason)."""


class LaunchFailed(RuntimeError):
    """The trader will not run the launched version (refused it, or another was launched)."""


class _CheckFailed(Exception):
    pass


@dataclass(frozen=True)
class LaunchPlan:
    deployment: str
    account_id: str
    model: str  # models:/NAME/VERSION, what was checked and is set desired
    requested: str  # as asked (may be an alias)
    timeframe_s: int  # the deployment's bar: the trader swaps at the next one
    checks: dict[str, str]  # check -> what it found

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LaunchPlan:
        return cls(**data)


def model_deployment(cfg: LiveConfig, name: str) -> DeploymentConfig:
    for d in cfg.deployments:
        if d.name == name:
            if d.strategy.model is None:
                raise LaunchRefused(
                    f"deployment {name!r} of live config {cfg.name!r} runs a decision function "
                    f"({d.strategy.decision}), not a registered model: nothing to launch"
                )
            return d
    known = ", ".join(d.name for d in cfg.deployments)
    raise LaunchRefused(f"live config {cfg.name!r} has no deployment {name!r} (it has: {known})")


def preflight(
    engine: Engine,
    cfg: LiveConfig,
    deployment: str,
    model_ref: str,
    *,
    broker: Broker,
    tracking: Any,
) -> LaunchPlan:
    """Every check, then the plan to launch; ``LaunchRefused`` with all failures."""
    d = model_deployment(cfg, deployment)
    checks: dict[str, str] = {}
    failures: list[str] = []
    resolved: dict[str, str] = {}

    def run(name: str, check: Callable[[], str]) -> None:
        try:
            checks[name] = check()
        except _CheckFailed as exc:
            failures.append(f"{name}: {exc}")

    account = cfg.broker.account_id or ""
    run("broker", lambda: _broker(broker, account))
    account = account or _account_of(broker)
    if account:
        run("trading", lambda: _trading(engine, account))
        run("reconcile", lambda: _reconcile(engine, account))
    run("model", lambda: _model(d, model_ref, tracking, resolved))
    if failures:
        raise LaunchRefused(
            f"launch of {model_ref} on deployment {deployment} refused: " + "; ".join(failures)
        )
    return LaunchPlan(
        deployment=deployment,
        account_id=account,
        model=resolved["model"],
        requested=model_ref,
        timeframe_s=d.timeframe.seconds,
        checks=checks,
    )


def _account_of(broker: Broker) -> str:
    try:
        return broker.account_id
    except Exception:
        return ""


def _broker(broker: Broker, account: str) -> str:
    try:
        summary = broker.account_summary()
    except Exception as exc:
        raise _CheckFailed(f"the broker does not answer: {type(exc).__name__}: {exc}") from exc
    theirs = broker.account_id
    if account and theirs != account:
        raise _CheckFailed(
            f"the broker connection trades account {theirs}, the live config account {account}"
        )
    return f"account {theirs} answers (NAV {summary.nav:g} {summary.currency})"


def _trading(engine: Engine, account: str) -> str:
    record = SqlKillSwitchStore(engine).load(account)
    if record is None:
        return "trading: enabled (the kill switch never tripped)"
    if record.state is not KillState.ACTIVE:
        raise _CheckFailed(f"account {account}: {record.describe()}")
    return record.describe()


def _reconcile(engine: Engine, account: str) -> str:
    found = SqlOmsStore(engine).reconcile_status(account)
    if found is None or found[0] is None:
        raise _CheckFailed(
            f"account {account} has never been reconciled: is its live trader running?"
        )
    status, detail = found
    if status != "clean":
        raise _CheckFailed(f"account {account}: the last reconciliation was {status}: {detail}")
    return f"clean: {detail}"


def _model(d: DeploymentConfig, ref: str, tracking: Any, resolved: dict[str, str]) -> str:
    from tradewind.policy import ContractMismatch
    from tradewind.registry import ModelNotFound, TrackingError, version_contract

    if tracking is None:
        raise _CheckFailed("no model registry to check it in")
    try:
        spec = load_config(d.features, FeatureSpec)
        name, version, contract = version_contract(tracking, ref)
        model = f"models:/{name}/{version}"
        contract.check(
            spec.columns,
            spec.fingerprint,
            timeframe=d.timeframe,
            model=model,
            feature_spec=spec,
            instruments=d.instruments,
        )
    except ContractMismatch as exc:
        raise _CheckFailed(f"contract mismatch with deployment {d.name}: {exc}") from exc
    except (ModelNotFound, TrackingError, ValueError, OSError) as exc:
        raise _CheckFailed(str(exc)) from exc
    resolved["model"] = model
    return f"{model}: contract matches {spec.name!r} at {d.timeframe}"


def set_desired(engine: Engine, plan: LaunchPlan, *, by: str, reason: str = "") -> dict[str, Any]:
    """Make ``plan.model`` the deployment's desired model; ``changed`` False when it already
    was (a re-run: nothing written)."""
    store = SqlLiveModels(engine)
    changed = store.desire(plan.deployment, plan.model, by=by, reason=reason or plan.requested)
    state = store.get(plan.deployment)
    assert state is not None
    return {"changed": changed, **state.to_json()}


def deadline_s(plan: LaunchPlan) -> float:
    """How long after it was set the version may take to go live: two bars (the next
    boundary, plus one for loading it) and ten minutes."""
    return 2.0 * plan.timeframe_s + 600.0


class _NotYet(Exception):
    def __init__(self, state: LiveModelState) -> None:
        super().__init__(state.live_model)
        self.state = state


def _check_live(
    engine: Engine, deployment: str, model: str, deadline: float | None
) -> LiveModelState:
    state = SqlLiveModels(engine).get(deployment)
    if state is None or state.desired_model is None:
        raise LaunchFailed(f"deployment {deployment}: no model is desired (was it set?)")
    if state.desired_model != model:
        raise LaunchFailed(
            f"deployment {deployment}: {state.desired_model} was launched since "
            f"(by {state.desired_by or 'unknown'}), superseding {model}"
        )
    refused = state.refused(model)
    if refused is not None:
        raise LaunchFailed(f"deployment {deployment}: the trader {refused}")
    if state.live_model == model:
        return state
    if deadline is not None and state.desired_at is not None:
        waited = (datetime.now(UTC) - state.desired_at).total_seconds()
        if waited > deadline:
            raise LaunchFailed(
                f"deployment {deployment}: {model} is not live {waited:.0f} s after the launch "
                f"(it runs {state.live_model or 'nothing reported'}): is the trader running?"
            )
    raise _NotYet(state)


def is_live(
    engine: Engine, deployment: str, model: str, *, deadline: float | None = None
) -> tuple[bool, LiveModelState]:
    """(True, row) once the trader reports ``model`` live on ``deployment``, (False, row)
    while waiting. ``LaunchFailed`` when it never will be: the trader refused it (the reason
    is its), another version was launched since, or ``deadline`` seconds passed since the
    launch (``deadline_s``)."""
    try:
        return True, _check_live(engine, deployment, model, deadline)
    except _NotYet as wait:
        return False, wait.state


def wait_until_live(
    engine: Engine, deployment: str, model: str, timeout: float, poll_s: float = 1.0
) -> LiveModelState:
    """Block until ``model`` is live on ``deployment`` (``LaunchFailed`` if it will not
    be, ``TimeoutError`` after ``timeout`` seconds)."""
    end = time.monotonic() + timeout
    while True:
        done, state = is_live(engine, deployment, model)
        if done:
            return state
        if time.monotonic() >= end:
            raise TimeoutError(
                f"deployment {deployment}: {model} not live after {timeout:g} s "
                f"(it runs {state.live_model or 'nothing reported'})"
            )
        time.sleep(poll_s)
