"""Model launches in a running trader: what the database says a deployment should run, loaded
off the price thread and swapped in at the deployment's next bar boundary.

A launch (``tradewind.pipelines.launch``, the ``live_launch`` DAG) writes the *desired*
model of a deployment; the trader never needs Airflow. ``ModelSwitch.poll`` runs on the
trader's main loop (every ``every_s``, the snapshot cadence: one indexed read of the
account's model deployments, never per tick). A desired model that differs from the one
running is loaded on a thread of its own (downloading a model takes seconds) and its
contract checked against the deployment's features, then *staged* on each of the
deployment's lanes: ``LiveDecision.on_bar`` swaps it in when the lane's next bar closes,
before deciding on that bar, so every decision from then on is the new model's. Once every
lane runs it, the switch reports it live (``live_model``).

A model that cannot go live (``ModelRefused``: a contract that does not match the
deployment's features, an unknown version) is refused for good: the old model keeps
trading, ``detail`` says which model and why, and one line is logged. Any other failure
(the registry unreachable) is tried again after ``retry_s``. Deployments that run a decision
function are not swapped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tradewind.live.decisions import LiveDecision
from tradewind.policy import Policy
from tradewind.signals import Decider

log = logging.getLogger(__name__)


class ModelRefused(Exception):
    """A model cannot go live on a deployment (its contract, an unknown version): final."""


class DesiredModels(Protocol):
    """The ``live_models`` table (``storage.live_models.SqlLiveModels``)."""

    def desired(self, deployments: Sequence[str]) -> Mapping[str, str]: ...

    def report_live(self, deployment: str, model: str) -> None: ...

    def refuse(self, deployment: str, model: str, reason: str) -> None: ...


# (deployment, model URI) -> (the policy, contract-checked, and the URI of its version)
ModelLoader = Callable[[str, str], tuple[Policy, str]]
# (instrument, policy) -> the lane's new decider (the deployment's sizing and threshold)
DeciderFactory = Callable[[str, Policy], Decider]


@dataclass
class SwitchedDeployment:
    """One model deployment: its lanes' decisions, and which model it runs."""

    name: str
    decisions: list[LiveDecision]
    new_decider: DeciderFactory
    live: str  # models:/NAME/VERSION running now
    handled: str = ""  # the last desired model acted on (live, staged or refused)
    staged: str | None = None  # loaded, waiting for the lanes' next bar
    loading: threading.Thread | None = None
    retry_at: float = 0.0  # wall time before which a failed load is not tried again
    errors: set[str] = field(default_factory=set)  # failures logged already


class ModelSwitch:
    def __init__(
        self,
        store: DesiredModels,
        load: ModelLoader,
        deployments: Sequence[SwitchedDeployment],
        *,
        every_s: float = 5.0,
        retry_s: float = 60.0,
    ) -> None:
        self.store = store
        self.load = load
        self.deployments = {d.name: d for d in deployments}
        self.every_s = every_s
        self.retry_s = retry_s

    def poll(self) -> None:
        """Report models that went live; start loading newly desired ones (main loop)."""
        for dep in self.deployments.values():
            self._report(dep)
        if not self.deployments:
            return
        desired = self.store.desired(list(self.deployments))
        for name, want in desired.items():
            dep = self.deployments[name]
            busy = dep.loading is not None and dep.loading.is_alive()
            if want == dep.handled or busy or time.time() < dep.retry_at:
                continue
            dep.loading = threading.Thread(
                target=self._load, args=(dep, want), name=f"live-model-{name}", daemon=True
            )
            dep.loading.start()

    def report(self) -> dict[str, dict[str, str | None]]:
        """Per deployment the model live and the one staged for the next bar (/health)."""
        return {n: {"live": d.live, "staged": d.staged} for n, d in self.deployments.items()}

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait for the loads under way (tests; a stopping trader does not)."""
        for dep in self.deployments.values():
            if dep.loading is not None:
                dep.loading.join(timeout)

    def _report(self, dep: SwitchedDeployment) -> None:
        staged = dep.staged
        if staged is None or any(d.model != staged for d in dep.decisions):
            return
        self.store.report_live(dep.name, staged)
        log.warning("deployment %s: %s is live (was %s)", dep.name, staged, dep.live)
        dep.live, dep.staged = staged, None

    def _load(self, dep: SwitchedDeployment, want: str) -> None:
        try:
            policy, model = self.load(dep.name, want)
            if model == dep.live:  # back to what runs (a rollback before the swap)
                for d in dep.decisions:
                    d.unstage()
                dep.staged = None
                self.store.report_live(dep.name, model)
            else:
                for d in dep.decisions:
                    d.stage(dep.new_decider(d.instrument, policy), model)
                dep.staged = model
                log.warning(
                    "deployment %s: %s loaded; it trades from the next bar", dep.name, model
                )
            dep.handled = want
        except Exception as exc:
            final = isinstance(exc, ModelRefused | LookupError | ValueError)
            self._failed(dep, want, exc, final)

    def _failed(self, dep: SwitchedDeployment, want: str, exc: Exception, final: bool) -> None:
        reason = str(exc) if final else f"{type(exc).__name__}: {exc}"
        if final:
            dep.handled = want
            reason = f"refused: {reason}"
        else:
            dep.retry_at = time.time() + self.retry_s
            reason = f"not loaded (tried again in {self.retry_s:g} s): {reason}"
        if reason not in dep.errors:
            dep.errors.add(reason)
            log.error("deployment %s: %s %s; still trading %s", dep.name, want, reason, dep.live)
        try:
            self.store.refuse(dep.name, want, f"{reason}; still trading {dep.live}")
        except Exception:
            log.exception("deployment %s: could not record why %s is not live", dep.name, want)
