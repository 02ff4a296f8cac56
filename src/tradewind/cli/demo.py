"""`tradewind demo`: the whole pipeline on the embedded default (SQLite, local files)."""

from __future__ import annotations

from pathlib import Path

from tradewind.cli.context import emit_json, engine, out, settings, working
from tradewind.cli.data import report_table, series_table
from tradewind.config import ImportSpec, SyntheticConfig, load_config
from tradewind.domain import Timeframe
from tradewind.pipelines.ingest import import_file
from tradewind.pipelines.setup import initialise, load_universe
from tradewind.pipelines.synthetic import synthesize_to_db, synthesize_to_file
from tradewind.storage import batches

DEMO_BACKTEST = Path("configs/backtests/demo.yaml")


def run_demo(as_json: bool) -> None:
    home = settings().home
    eng = engine()
    steps: dict[str, object] = {"database": settings().database_display}
    universe = load_universe()
    with working("migrating the database", as_json):
        initialise(eng, universe)
    steps["universe"] = f"{universe.name} ({len(universe.instruments)} instruments)"

    # 1. Synthetic EUR_USD hourly bars straight into the security master (mid, bid, ask).
    synth = SyntheticConfig(instrument="EUR_USD", timeframe=Timeframe.H1, bars=5000, seed=7)
    with working("synthesizing EUR_USD H1", as_json):
        reports = synthesize_to_db(eng, synth)
    # 2. A GBP_USD file, written then imported like any vendor file; the second import is
    #    the idempotency check: it must insert nothing.
    csv_path = home / "demo" / "GBP_USD_M1.synthetic.csv"
    gbp = SyntheticConfig(
        instrument="GBP_USD", timeframe=Timeframe.M1, bars=20_000, seed=11, start_price=1.27
    )
    synthesize_to_file(gbp, Path(csv_path))
    spec = ImportSpec(instrument="GBP_USD", timeframe=Timeframe.M1, vendor="synthetic")
    with working("importing the GBP_USD file twice", as_json):
        first = import_file(eng, csv_path, spec)
        second = import_file(eng, csv_path, spec)
    reports += [first, second]
    with eng.connect() as conn:
        series = batches.summarize_bars(conn)

    # 3. The shipped strategies backtested on the EUR_USD bars, stored, and a tear sheet.
    backtest = None
    report_path = home / "demo" / "report.html"
    if DEMO_BACKTEST.exists():
        from tradewind.config.backtest import BacktestConfig
        from tradewind.pipelines.backtest import run_backtest
        from tradewind.pipelines.report import write_report

        with working("backtesting the shipped strategies", as_json):
            backtest = run_backtest(eng, load_config(DEMO_BACKTEST, BacktestConfig))
            write_report(eng, backtest.run_id, report_path)

    if as_json:
        emit_json(
            {
                **steps,
                "synthetic": True,
                "batches": [r.to_json() for r in reports],
                "reimport_inserted": second.inserted,
                "backtest": backtest.to_json() if backtest else None,
                "report": str(report_path) if backtest else None,
                "series": [s.__dict__ for s in series],
            }
        )
        return
    out.rule("[bold]Tradewind demo[/] — all data below is SYNTHETIC")
    out.print(f"database: {steps['database']}")
    out.print(f"universe: {steps['universe']}")
    out.print(report_table(reports))
    verdict = "[green]idempotent[/]" if second.inserted == 0 else "[red]NOT idempotent[/]"
    out.print(f"re-import of the same file inserted {second.inserted} bars: {verdict}")
    out.print(series_table(series, title="stored series"))
    if backtest is not None:
        from tradewind.cli.backtest import backtest_table

        out.print(backtest_table(backtest))
        out.print(f"tear sheet: {report_path}")
    else:
        out.print(f"backtest skipped: {DEMO_BACKTEST} not found (run from the repository root)")
    out.print(
        "next: tradewind data ls · tradewind runs ls · "
        "tradewind backtest run --config configs/backtests/demo.yaml"
    )
