"""`tradewind models ...`: the model registry (list, show, promote), and the MLflow wiring the
`train` command shares. MLflow is imported only when a command runs (it is slow to import)."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.table import Table

from tradewind.cli.context import CliError, JsonOpt, emit_json, one_line_errors, out, registry
from tradewind.cli.numbers import fmt_metric

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    help="The model registry: registered models, versions and aliases.", no_args_is_help=True
)


def tracking() -> Any:
    """MLflow as the environment says (``MLFLOW_TRACKING_URI``, else the embedded store under
    ``TRADEWIND_HOME``), configured quietly."""
    from tradewind.registry.tracking import configure

    return configure(registry())


def mlflow_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """MLflow's own exceptions (an unreachable server, a refused request) as one line."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if type(exc).__module__.startswith("mlflow"):
                from tradewind.registry.tracking import first_line, mask_uri

                message = first_line(getattr(exc, "message", exc))
                uri = settings_uri()
                raise CliError(f"MLflow at {mask_uri(uri)}: {message}") from None
            raise

    return wrapper


def settings_uri() -> str:
    try:
        import mlflow

        return str(mlflow.get_tracking_uri())
    except Exception:  # pragma: no cover
        return "?"


def fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:,.4f}"
    return str(value)


@app.command("ls")
@one_line_errors
@mlflow_errors
def ls(as_json: JsonOpt = False) -> None:
    """Registered models: versions, aliases, and the metrics of each alias's version."""
    from tradewind.registry.models import list_models

    models = list_models(tracking())
    if as_json:
        emit_json({"models": [m.to_json() for m in models]})
        return
    if not models:
        out.print("no registered models yet: `tradewind train --config FILE` registers one")
        return
    t = Table("model", "versions", "latest", "aliases", "alias metrics (val_*)")
    for m in models:
        aliases = ", ".join(f"{a} → v{v}" for a, v in m.aliases.items()) or "—"
        metrics = "; ".join(
            f"{a}: "
            + ", ".join(f"{k}={fmt_metric(k, v)}" for k, v in ms.items() if k.startswith("val_"))
            for a, ms in m.alias_metrics.items()
        )
        t.add_row(m.name, str(m.versions), fmt(m.latest_version), aliases, metrics or "—")
    out.print(t)


@app.command("show")
@one_line_errors
@mlflow_errors
def show(
    ref: Annotated[str, typer.Argument(help="NAME@ALIAS, NAME/VERSION or NAME (latest).")],
    as_json: JsonOpt = False,
) -> None:
    """One model version: its run, aliases, contract and metrics."""
    from tradewind.registry.models import show_model

    d = show_model(tracking(), ref)
    if as_json:
        emit_json(d.to_json())
        return
    c = d.contract
    out.print(f"[bold]{d.name}[/] version {d.version}  ({d.uri})", highlight=False)
    out.print(f"aliases: {', '.join(d.aliases) or '—'}", highlight=False)
    out.print(f"mlflow run: {d.mlflow_run_id}  our run: {d.tags.get('tradewind.run_id', '—')}")
    if c:
        out.print(
            f"{c['kind']} {c['algo']} on {c['instrument']} {c['timeframe']} {c['side']}, "
            f"window {c['window']}, obs_dim {c['obs_dim']}",
            highlight=False,
        )
        out.print(f"columns: {', '.join(c['columns'])}", highlight=False)
        out.print(f"feature spec: {c['feature_spec_fingerprint'][:12]}", highlight=False)
    t = Table("metric", "value")
    for k, v in d.metrics.items():
        t.add_row(k, fmt_metric(k, v))
    out.print(t)


@app.command("promote")
@one_line_errors
@mlflow_errors
def promote(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[str, typer.Argument(help="Version number to promote.")],
    alias: Annotated[str, typer.Option(help="Alias to point at the version.")] = "champion",
    as_json: JsonOpt = False,
) -> None:
    """Point an alias (default `champion`) at a model version."""
    from tradewind.registry.models import promote as do_promote

    d = do_promote(tracking(), name, version, alias)
    if as_json:
        emit_json({"model_name": d.name, "model_version": d.version, "alias": alias})
        return
    out.print(f"{d.name}@{alias} → version {d.version}", highlight=False)
