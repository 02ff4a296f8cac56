"""`tradewind config ...`: validate and store configs by fingerprint; list and show them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from tradewind.cli.context import JsonOpt, emit_json, one_line_errors, out, ready_engine
from tradewind.config import UniverseConfig, load_config
from tradewind.pipelines.setup import push_universe
from tradewind.storage import catalog

app = typer.Typer(help="Configs: validate, store by fingerprint, list, show.", no_args_is_help=True)


@app.command("push")
@one_line_errors
def push(
    file: Annotated[Path, typer.Argument(help="A YAML or JSON config.")],
    as_json: JsonOpt = False,
) -> None:
    """Validate FILE and store it under its fingerprint (a universe also updates instruments)."""
    cfg = load_config(file)
    eng = ready_engine()
    touched = 0
    if isinstance(cfg, UniverseConfig):
        fp = push_universe(eng, cfg)
        touched = len(cfg.instruments)
    else:
        with eng.begin() as conn:
            fp = catalog.store_config(conn, cfg)
    kind = cfg.model_dump()["kind"]
    if as_json:
        emit_json({"fingerprint": fp, "kind": kind, "file": str(file), "instruments": touched})
    else:
        out.print(f"{kind} config {fp[:12]} stored ({file})")


@app.command("ls")
@one_line_errors
def ls(
    kind: Annotated[str | None, typer.Option(help="Only configs of this kind.")] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Only 12-digit fingerprints, one a line (for $(...))."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Stored configs, newest first."""
    with ready_engine().connect() as conn:
        rows = catalog.list_configs(conn, kind)
    if quiet and not as_json:
        for r in rows:
            print(r.fingerprint[:12])
        return
    if as_json:
        emit_json(
            {
                "configs": [
                    {
                        "fingerprint": r.fingerprint,
                        "kind": r.kind,
                        "name": r.name,
                        "created_at": r.created_at,
                    }
                    for r in rows
                ]
            }
        )
        return
    t = Table("fingerprint", "kind", "name", "stored")
    for r in rows:
        t.add_row(r.fingerprint[:12], r.kind, r.name, f"{r.created_at:%Y-%m-%d %H:%M:%S}")
    out.print(t if rows else "no configs stored yet")


@app.command("show")
@one_line_errors
def show(
    fingerprint: Annotated[
        str,
        typer.Argument(metavar="FINGERPRINT", help="A fingerprint or a unique prefix of one."),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Print a stored config (YAML; --json for one JSON object)."""
    with ready_engine().connect() as conn:
        row = catalog.get_config(conn, fingerprint)
    if as_json:
        emit_json(
            {
                "fingerprint": row.fingerprint,
                "kind": row.kind,
                "name": row.name,
                "created_at": row.created_at,
                "config": row.body,
            }
        )
        return
    out.print(
        f"# {row.kind} config {row.name} {row.fingerprint} "
        f"(stored {row.created_at:%Y-%m-%d %H:%M:%S})",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        yaml.safe_dump(row.body, sort_keys=False).rstrip(),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
