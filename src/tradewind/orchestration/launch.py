"""Tasks of the ``live_launch`` DAG: adapters from Airflow connections (``tradewind_db``,
``oanda``, ``mlflow``), the logic in ``tradewind.pipelines.launch``.

A relative live config path, and the relative feature config paths inside it, are resolved
against the project root (the folder holding ``dags/``), as the trader resolves them from
its working directory there."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tradewind.orchestration import connections
from tradewind.orchestration.connections import JobSetupError


def live_config(path: str, root: str | Path) -> Any:
    """The ``kind: live`` config at ``path`` with its paths resolved against ``root``."""
    from tradewind.pipelines.live import load_live_config

    p = Path(path)
    cfg = load_live_config(p if p.is_absolute() else Path(root) / p)
    deployments = tuple(
        d
        if Path(d.features).is_absolute()
        else d.model_copy(update={"features": str(Path(root) / d.features)})
        for d in cfg.deployments
    )
    return cfg.model_copy(update={"deployments": deployments})


def targets(
    deployment: str,
    model: str,
    config: str,
    root: str | Path,
    champions: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, str]]:
    """What one run launches. A manual run: ``model`` on ``deployment``. A run triggered by
    champion promotions (``champions``: the events' extras, ``{"model": NAME, "version":
    N}``): that version on every deployment of ``config`` following ``models:/NAME@champion``
    (none: nothing to launch)."""
    if deployment or model:
        if not (deployment and model):
            raise JobSetupError("a manual launch needs both params: deployment and model")
        return [{"deployment": deployment, "model": model, "config": config}]
    cfg = live_config(config, root)
    out: dict[str, dict[str, str]] = {}
    for event in champions:
        name, version = str(event.get("model") or ""), str(event.get("version") or "")
        if not name:
            continue
        ref = f"models:/{name}/{version}" if version else f"models:/{name}@champion"
        for d in cfg.deployments:
            if d.strategy.model == f"models:/{name}@champion":
                out[d.name] = {"deployment": d.name, "model": ref, "config": config}
    return list(out.values())  # the latest promotion per deployment


def preflight(target: Mapping[str, str], root: str | Path) -> dict[str, Any]:
    """Every preflight check (``LaunchRefused`` naming each failure); the plan as JSON."""
    from tradewind.pipelines.launch import preflight as check

    cfg = live_config(target["config"], root)
    engine = connections.engine()
    broker = connections.broker()
    try:
        plan = check(
            engine,
            cfg,
            target["deployment"],
            target["model"],
            broker=broker,
            tracking=connections.tracking(),
        )
    finally:
        broker.close()
    return plan.to_json()


def set_desired(plan: Mapping[str, Any], by: str, reason: str) -> dict[str, Any]:
    """The plan's version desired on its deployment; the plan with the row (``desired``)."""
    from tradewind.pipelines.launch import LaunchPlan
    from tradewind.pipelines.launch import set_desired as desire

    row = desire(connections.engine(), LaunchPlan.from_json(dict(plan)), by=by, reason=reason)
    return {**plan, "desired": row}


def live(plan: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
    """(done, the deployment's row): done once the trader reports the version live;
    ``LaunchFailed`` when it refused it, another was launched, or the deadline passed."""
    from tradewind.pipelines.launch import LaunchPlan, deadline_s, is_live

    p = LaunchPlan.from_json({k: v for k, v in plan.items() if k != "desired"})
    done, state = is_live(connections.engine(), p.deployment, p.model, deadline=deadline_s(p))
    return done, state.to_json()
