"""Benchmark: 1M M1 bars from CSV and Parquet into Postgres and SQLite, and a year back.

``python -m bench.run`` (``make bench``). Every measured import goes into a fresh database
(migrated, fx_majors universe loaded), so runs are comparable. In the same process the same
load runs through pandas ``to_sql`` as the everyday baseline. Reports medians of ``--repeats``
runs and checks correctness: every bar inserted, a re-import inserts nothing, and the year
read back equals the file's bars. ``--write-results`` updates bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
from sqlalchemy import event

from bench import baseline
from bench.common import check, command_line, log, machine_info, timed
from bench.data import (
    DATA_DIR,
    INSTRUMENT,
    VALUE_FIELDS,
    Dataset,
    Expected,
    ensure_dataset,
    load_expected,
)
from bench.databases import PostgresBackend, SqliteBackend
from bench.report import Goal, Results, goal_rows, publish, ratio_rows, table
from tradewind.config import ImportSpec
from tradewind.domain import PriceSide, Timeframe
from tradewind.marketdata.readers import read_bar_file
from tradewind.marketdata.validation import validate_bars
from tradewind.pipelines.ingest import import_file
from tradewind.storage import catalog
from tradewind.storage.bars import BarKey, read_bars

Backend = SqliteBackend | PostgresBackend
T = TypeVar("T")
FORMATS = ("CSV", "Parquet")
GOAL_IMPORT_RATE = 250_000
GOAL_IMPORT_RATIO = 10.0
GOAL_READ_RATE = 1_000_000
PG_LABEL = {
    "postgres": "Postgres (fsync off)",
    "postgres-fsync": "Postgres (fsync on)",
}

IMPORT = "import {fmt}: import_file, end to end"
REIMPORT = "re-import {fmt}: all duplicates"
READ = "read-back 1 year: read_bars -> numpy"
PARSE = "parse + validate {fmt} only (no database)"
BASE_IMPORT = "baseline: pandas read_{fmt} + to_sql"
BASE_READ = "baseline: pandas read_sql 1 year"
ORDER = [
    *(PARSE.format(fmt=f) for f in FORMATS),
    *(m.format(fmt=f) for f in FORMATS for m in (IMPORT, REIMPORT)),
    *(BASE_IMPORT.format(fmt=f.lower()) for f in FORMATS),
    READ,
    BASE_READ,
]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--bars", type=int, default=1_000_000, help="bars in the file (1,000,000)")
    p.add_argument("--repeats", type=int, default=3, help="runs of each of our measurements (3)")
    p.add_argument(
        "--baseline-repeats",
        type=int,
        default=None,
        help="runs of the slow pandas baselines (default: --repeats)",
    )
    p.add_argument(
        "--only",
        choices=("sqlite", "postgres", "postgres-fsync"),
        help="one backend only (postgres-fsync: a server with fsync, synchronous_commit and "
        "full_page_writes on)",
    )
    p.add_argument("--seed", type=int, default=42, help="seed of the synthetic bars (42)")
    p.add_argument("--no-baseline", action="store_true", help="skip the pandas baselines")
    p.add_argument(
        "--write-results", action="store_true", help="write the figures into bench/RESULTS.md"
    )
    args = p.parse_args(argv)
    if args.bars < 2 or args.repeats < 1:
        p.error("--bars must be at least 2 and --repeats at least 1")
    if args.baseline_repeats is None:
        args.baseline_repeats = args.repeats
    if args.no_baseline:
        args.baseline_repeats = 0
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, ds: Dataset, expected: Expected) -> None:
        self.args = args
        self.ds = ds
        self.expected = expected
        self.start, self.end, self.year_bars = expected.year_window()
        self.spec = ImportSpec(instrument=INSTRUMENT, timeframe=Timeframe.M1)
        self.results = Results()

    def path(self, fmt: str) -> Path:
        return self.ds.csv if fmt == "CSV" else self.ds.parquet

    def parse_only(self, fmt: str) -> None:
        def run() -> int:
            parsed = read_bar_file(self.path(fmt), self.spec)
            validate_bars(parsed.bars, self.spec.timeframe, parsed.issues, parsed.unparsed)
            return parsed.issues.count

        dt, bad = timed(run)
        check(bad == 0, f"{fmt}: {bad} rows with issues")
        self.record("-", PARSE.format(fmt=fmt), self.ds.bars, dt)

    def ours(self, backend: Backend, fmt: str) -> None:
        n = self.ds.bars
        with backend.database() as engine:
            statements: list[str] = []

            @event.listens_for(engine, "before_cursor_execute")
            def spy(_c: object, _cur: object, statement: str, *_: object) -> None:
                statements.append(statement)

            dt, rep = timed(lambda: import_file(engine, self.path(fmt), self.spec))
            check(
                (rep.rows_read, rep.inserted, rep.quarantined, rep.conflicts) == (n, n, 0, 0),
                f"{backend.name} {fmt} import: {rep}",
            )
            staged = any("tw_stage" in s for s in statements)
            check(not staged, "a fresh range must go straight into bars, not through tw_stage")
            self.record(backend.name, IMPORT.format(fmt=fmt), n, dt)
            dt, rep = timed(lambda: import_file(engine, self.path(fmt), self.spec))
            check(
                (rep.inserted, rep.skipped_duplicates, rep.conflicts) == (0, n, 0),
                f"{backend.name} {fmt} re-import must insert nothing: {rep}",
            )
            check(any("tw_stage" in s for s in statements), "a re-import must be staged")
            self.record(backend.name, REIMPORT.format(fmt=fmt), n, dt)
            with engine.connect() as conn:
                key = BarKey(catalog.instrument_id(conn, INSTRUMENT), Timeframe.M1, PriceSide.MID)
                dt, series = timed(lambda: read_bars(conn, key, self.start, self.end))
            ts, values = self.expected.window(self.start, self.end)
            check(len(series) == len(ts) == self.year_bars, f"read-back length {len(series)}")
            check(np.array_equal(series.ts, ts), "read-back timestamps differ from the file")
            for f in VALUE_FIELDS:
                check(np.array_equal(getattr(series, f), values[f]), f"read-back {f} differs")
            self.record(backend.name, READ, len(ts), dt)

    def pandas_baseline(self, backend: Backend, fmt: str) -> None:
        n = self.ds.bars
        with backend.database(migrated=False) as engine:
            baseline.create_table(engine)
            dt, rows = timed(lambda: baseline.load(engine, self.path(fmt)))
            check(rows == n and baseline.count(engine) == n, f"to_sql stored {rows} rows")
            self.record(backend.name, BASE_IMPORT.format(fmt=fmt.lower()), n, dt)
            dt, df = timed(lambda: baseline.read_year(engine, self.start, self.end))
            check(len(df) == self.year_bars, f"read_sql returned {len(df)} rows")
            self.record(backend.name, BASE_READ, self.year_bars, dt)

    def record(self, backend: str, name: str, bars: int, seconds: float) -> None:
        self.results.add(backend, name, bars, seconds)
        log(f"  {backend:8} {name:48} {seconds:8.3f} s  {bars / seconds:>12,.0f} bars/s")

    def goals(self) -> tuple[list[Goal], list[tuple[str, float]]]:
        r = self.results
        goals: list[Goal] = []
        ratios: list[tuple[str, float]] = []
        for backend in ("postgres", "postgres-fsync", "sqlite"):
            for fmt in FORMATS:
                ours = r.get(backend, IMPORT.format(fmt=fmt))
                base = r.get(backend, BASE_IMPORT.format(fmt=fmt.lower()))
                if ours and backend != "sqlite":
                    goals.append(
                        Goal(
                            f"{PG_LABEL[backend]} import {fmt}, end to end",
                            ours.rate,
                            GOAL_IMPORT_RATE,
                            "bars/s",
                        )
                    )
                if ours and base:
                    ratio = ours.rate / base.rate
                    ratios.append(
                        (
                            f"{backend} import {fmt} vs read_{fmt.lower()} + to_sql: the same "
                            f"file's {self.ds.bars:,} bars into a fresh table with the same "
                            "key in the same database, read to committed (ours also validates "
                            "and records the batch)",
                            ratio,
                        )
                    )
                    if backend != "sqlite":
                        goals.append(
                            Goal(
                                f"{PG_LABEL[backend]} import {fmt} vs pandas to_sql",
                                ratio,
                                GOAL_IMPORT_RATIO,
                                "x",
                            )
                        )
            ours = r.get(backend, READ)
            base = r.get(backend, BASE_READ)
            if ours:
                label = PG_LABEL.get(backend, "SQLite (no goal, for reference)")
                reference = backend == "sqlite"
                goals.append(
                    Goal(
                        f"{label} read-back 1 year", ours.rate, GOAL_READ_RATE, "bars/s", reference
                    )
                )
            if ours and base:
                ratios.append(
                    (
                        f"{backend} read-back vs read_sql: the same year of bars from the "
                        "same database into memory (ours numpy arrays, theirs a DataFrame)",
                        ours.rate / base.rate,
                    )
                )
        return goals, ratios


def machine(backends: list[Backend]) -> dict[str, str]:
    out = machine_info(("numpy", "pandas", "pyarrow", "sqlalchemy", "psycopg"))
    for b in backends:
        out.update(b.describe())
    return out


def render(bench: Bench, info: dict[str, str], command: str, seconds: float) -> str:
    goals, ratios = bench.goals()
    a = bench.args
    title = f"## Results ({'all backends' if not a.only else a.only + ' only'})"
    lines = [
        title,
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Command: `{command}` (whole run: {seconds:.0f} s)",
        *(f"- {k}: {v}" for k, v in info.items()),
        f"- Data: {bench.ds.bars:,} synthetic M1 {INSTRUMENT} bars (seed {a.seed}); "
        f"read-back window {bench.start:%Y-%m-%d} to {bench.end:%Y-%m-%d} = "
        f"{bench.year_bars:,} bars",
        f"- Runs: {a.repeats} of each of ours, {a.baseline_repeats} of each pandas baseline; "
        "every import into a fresh, migrated database",
        "- Durability: `postgres` rows ran on a server with fsync, synchronous_commit and "
        "full_page_writes off (a test server's settings); `postgres-fsync` rows on one with "
        "Postgres' crash-safe defaults on, what users run; SQLite with the project's own "
        "settings (WAL, synchronous=NORMAL: see tradewind.storage.engine)",
        "",
        "### Goals",
        "",
        *goal_rows(goals),
        "",
        "### Ratios",
        "",
        *ratio_rows(ratios),
        "",
        "### All measurements",
        "",
        *table(bench.results, ORDER),
    ]
    return "\n".join(lines)


HEADER = """# Benchmark results

Written by `python -m bench.run --write-results` (`make bench` runs the benchmark without
writing). Sections between `bench:begin`/`bench:end` markers are regenerated; text outside
them is kept.
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    ds, made = ensure_dataset(args.bars, args.seed)
    how = "generated" if made else "cached"
    log(f"data: {ds.csv.name}, {ds.parquet.name} in {DATA_DIR} ({how})")
    bench = Bench(args, ds, load_expected(ds))
    backends: list[Backend] = []
    try:
        if args.only in (None, "sqlite"):
            backends.append(SqliteBackend(DATA_DIR / "db"))
        for durable, name in ((False, "postgres"), (True, "postgres-fsync")):
            if args.only in (None, name):
                pg = PostgresBackend(durable=durable)
                log(f"{name}: {pg.origin}")
                backends.append(pg)
        info = machine(backends)
        for r in range(args.repeats):
            log(f"run {r + 1}/{args.repeats}")
            for fmt in FORMATS:
                bench.parse_only(fmt)
            for backend in backends:
                for fmt in FORMATS:
                    bench.ours(backend, fmt)
                    if r < args.baseline_repeats:
                        bench.pandas_baseline(backend, fmt)
    finally:
        for b in backends:
            b.close()
    seconds = time.perf_counter() - began
    command = command_line("bench.run", argv)
    text = render(bench, info, command, seconds)
    publish("main" if not args.only else f"only-{args.only}", text, HEADER, args.write_results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
