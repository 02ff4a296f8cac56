"""`tradewind data ...`: synthesize, import, list, quarantine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from tradewind.cli.context import (
    CliError,
    JsonOpt,
    emit_json,
    one_line_errors,
    out,
    ready_engine,
)
from tradewind.cli.progress import task
from tradewind.config import ConfigError, ImportSpec, SyntheticConfig, load_config
from tradewind.config.imports import ColumnMap, ConflictPolicy, FileFormat
from tradewind.domain import PriceSide, Timeframe
from tradewind.storage import batches

if TYPE_CHECKING:
    from tradewind.pipelines.ingest import ImportReport

app = typer.Typer(
    help="Market data: synthesize, import, list, inspect the quarantine.", no_args_is_help=True
)


def _timeframe(text: str) -> Timeframe:
    try:
        return Timeframe.parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _columns(text: str | None) -> ColumnMap:
    if not text:
        return ColumnMap()
    pairs = {}
    for part in text.split(","):
        field, sep, name = part.partition("=")
        if not sep or not name.strip():
            raise CliError(
                f"--columns: expected FIELD=COLUMN pairs, got {part!r}; name a column by its "
                "header or by its position as #N, e.g. time=#1 for an unnamed first column"
            )
        pairs[field.strip()] = name.strip()
    try:
        return ColumnMap(**pairs)
    except ValueError as exc:
        raise CliError(
            f"--columns: {exc}".splitlines()[0] + f" (fields: {', '.join(ColumnMap.model_fields)})"
        ) from None


def series_table(rows: list[batches.SeriesSummary], title: str | None = None) -> Table:
    t = Table("series", "vendor", "first", "last", "bars", title=title)
    for r in rows:
        vendor = f"{r.vendor} [yellow](SYNTHETIC)[/]" if r.synthetic else r.vendor
        first, last = f"{r.first:%Y-%m-%d %H:%M}", f"{r.last:%Y-%m-%d %H:%M}"
        t.add_row(f"{r.instrument} {r.timeframe} {r.side}", vendor, first, last, f"{r.bars:,}")
    return t


def report_table(reports: list[ImportReport]) -> Table:
    t = Table(
        "batch", "series", "read", "inserted", "duplicates", "conflicts", "quarantined", "seconds"
    )
    for r in reports:
        t.add_row(
            str(r.batch_id),
            f"{r.instrument} {r.timeframe} {r.side}",
            f"{r.rows_read:,}",
            f"{r.inserted:,}",
            f"{r.skipped_duplicates:,}",
            f"{r.conflicts:,}",
            f"{r.quarantined:,}",
            f"{r.seconds:.2f}",
        )
    return t


@app.command("synth")
@one_line_errors
def synth(
    instrument: Annotated[str | None, typer.Option(help="Symbol (default: EUR_USD).")] = None,
    timeframe: Annotated[
        str | None, typer.Option(help="S5 ... M1 ... H1 ... D (default: H1).")
    ] = None,
    bars: Annotated[int | None, typer.Option(min=1, help="How many bars (default: 5000).")] = None,
    seed: Annotated[int | None, typer.Option(help="Same seed, same bars (default: 7).")] = None,
    config: Annotated[
        Path | None, typer.Option(help="A `kind: synthetic` config; flags given override it.")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write CSV/Parquet here instead of the database.")
    ] = None,
    side: Annotated[PriceSide, typer.Option(help="Side written with --out.")] = PriceSide.MID,
    as_json: JsonOpt = False,
) -> None:
    """Generate SYNTHETIC FX-like bars (seeded) into the database or a file."""
    from tradewind.pipelines.synthetic import synthesize_to_db, synthesize_to_file

    base = load_config(config, SyntheticConfig) if config else SyntheticConfig()
    flags = {
        "instrument": instrument,
        "timeframe": timeframe and _timeframe(timeframe),
        "bars": bars,
        "seed": seed,
    }
    try:
        cfg = SyntheticConfig.model_validate(
            {**base.model_dump(), **{k: v for k, v in flags.items() if v is not None}}
        )
    except ValidationError as exc:
        raise ConfigError.from_validation("synthetic options", exc) from None
    label = f"generating {cfg.bars:,} synthetic {cfg.timeframe} bars"
    if out_file is not None:
        with task(label, 2, quiet=as_json) as progress:
            n = synthesize_to_file(cfg, out_file, side, progress=progress)
        result = {
            "out": str(out_file),
            "bars": n,
            "config_fingerprint": cfg.fingerprint,
            "synthetic": True,
        }
        if as_json:
            emit_json(result)
        else:
            out.print(f"wrote {n:,} synthetic bars to {out_file}")
        return
    with task(label, 1 + len(PriceSide), quiet=as_json) as progress:
        reports = synthesize_to_db(ready_engine(), cfg, progress=progress)
    if as_json:
        emit_json(
            {
                "synthetic": True,
                "config_fingerprint": cfg.fingerprint,
                "batches": [r.to_json() for r in reports],
            }
        )
    else:
        out.print(report_table(reports))
        out.print(f"[dim]synthetic data, config {cfg.fingerprint[:12]}[/]")


@app.command("import")
@one_line_errors
def import_(
    file: Annotated[Path, typer.Argument(help="A CSV or Parquet file of bars.")],
    instrument: Annotated[str | None, typer.Option(help="Symbol, e.g. EUR_USD.")] = None,
    timeframe: Annotated[str | None, typer.Option(help="Bar period of the file, e.g. H1.")] = None,
    fmt: Annotated[
        FileFormat | None, typer.Option("--format", help="csv or parquet (default: by extension).")
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            help="Column mapping, e.g. 'time=Date,close=Last'; #N names a column by position "
            "(time=#1 for an unnamed first column)."
        ),
    ] = None,
    tz: Annotated[
        str,
        typer.Option(
            "--tz",
            help="Time zone of naive timestamps (for D bars, local dates stay the bar's date).",
        ),
    ] = "UTC",
    time_format: Annotated[
        str | None,
        typer.Option(help="strftime format of text timestamps, e.g. '%d/%m/%Y %H:%M'."),
    ] = None,
    epoch_unit: Annotated[
        str, typer.Option(help="Unit of numeric timestamps: s, ms, us, ns.")
    ] = "s",
    side: Annotated[PriceSide, typer.Option(help="Price side of the file.")] = PriceSide.MID,
    vendor: Annotated[str, typer.Option(help="Data vendor name.")] = "file",
    on_conflict: Annotated[
        ConflictPolicy, typer.Option(help="keep the stored bar, overwrite it, or fail.")
    ] = ConflictPolicy.KEEP,
    spec: Annotated[
        Path | None, typer.Option(help="A `kind: import` config instead of the flags.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a bar file: bad rows are quarantined with a reason; re-imports add nothing."""
    from tradewind.pipelines.ingest import IMPORT_PHASES, import_file

    if spec is not None:
        import_spec = load_config(spec, ImportSpec)
    else:
        if not instrument or not timeframe:
            raise CliError("give --instrument and --timeframe (or --spec FILE)")
        try:
            import_spec = ImportSpec(
                instrument=instrument,
                timeframe=_timeframe(timeframe),
                format=fmt,
                columns=_columns(columns),
                timezone=tz,
                time_format=time_format,
                epoch_unit=epoch_unit,  # type: ignore[arg-type]  # pydantic checks the unit
                side=side,
                vendor=vendor,
                on_conflict=on_conflict,
            )
        except ValidationError as exc:
            raise ConfigError.from_validation("import options", exc) from None
    with task(f"importing {file}", len(IMPORT_PHASES), quiet=as_json) as progress:
        report = import_file(ready_engine(), file, import_spec, progress=progress)
    if as_json:
        emit_json(report.to_json())
        return
    out.print(report_table([report]))
    if report.quarantined or report.conflicts:
        out.print(f"see the rejected rows: tradewind data quarantine --batch {report.batch_id}")


@app.command("ls")
@one_line_errors
def ls(as_json: JsonOpt = False) -> None:
    """Stored series: instrument, timeframe, side, vendor, first/last bar, count."""
    with ready_engine().connect() as conn:
        rows = batches.summarize_bars(conn)
    if as_json:
        emit_json({"series": [r.__dict__ for r in rows]})
        return
    if not rows:
        out.print("no bars stored yet: try `tradewind data synth` or `tradewind data import`")
        return
    out.print(series_table(rows))


@app.command("quarantine")
@one_line_errors
def quarantine(
    batch: Annotated[int | None, typer.Option(help="Only this ingest batch.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Rejected rows with their reason, line and raw content."""
    with ready_engine().connect() as conn:
        if batch is not None and batches.get_batch(conn, batch) is None:
            raise CliError(f"no ingest batch {batch}")
        rows = batches.list_quarantine(conn, batch, limit)
    if as_json:
        emit_json(
            {
                "rows": [
                    {
                        "batch_id": r.batch_id,
                        "category": r.category,
                        "line": r.line,
                        "reason": r.reason,
                        "raw": r.raw,
                    }
                    for r in rows
                ]
            }
        )
        return
    t = Table("batch", "line", "category", "reason", "raw")
    for r in rows:
        raw = r.raw.get("text") if "text" in r.raw else r.raw
        t.add_row(str(r.batch_id), str(r.line), r.category, r.reason, str(raw))
    out.print(t if rows else "the quarantine is empty")


@app.command("batches")
@one_line_errors
def batches_(
    limit: Annotated[int, typer.Option(min=1, help="The newest N batches.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Ingest batches, newest first: source, counts, config fingerprint."""
    with ready_engine().connect() as conn:
        rows = batches.list_batches(conn, limit)
    fields = (
        "id",
        "source_kind",
        "source",
        "timeframe",
        "side",
        "rows_read",
        "inserted",
        "skipped_duplicates",
        "conflicts",
        "quarantined",
        "config_fingerprint",
        "finished_at",
    )
    if as_json:
        emit_json({"batches": [{f: getattr(r, f) for f in fields} for r in rows]})
        return
    t = Table("batch", "kind", "source", "read", "inserted", "dupes", "conflicts", "quarantined")
    for r in rows:
        t.add_row(
            str(r.id),
            r.source_kind,
            Path(r.source).name,
            f"{r.rows_read:,}",
            f"{r.inserted:,}",
            f"{r.skipped_duplicates:,}",
            f"{r.conflicts:,}",
            f"{r.quarantined:,}",
        )
    out.print(t if rows else "no ingest batches yet")


from tradewind.cli.data_oanda import ingest_app  # noqa: E402  (registers `data ingest ...`)

app.add_typer(ingest_app, name="ingest")
