"""Property: every row read is stored, skipped as a duplicate, a conflict, or quarantined.

Hypothesis draws small H1 bar files mixing good rows, every kind of bad row, identical and
differing duplicates, out-of-order rows, and bars already stored (some identical, some
conflicting). Each file is imported as CSV into SQLite and Postgres; a model written from the
spec predicts the counts, which lines are quarantined or in conflict, and the stored table.
A re-import of the same file must insert nothing.

Model of in-file checks (the spec leaves the interplay open; this is the reading tested):
per-row defects first; among the remaining rows, copies of a timestamp that are all identical
keep the first and quarantine the rest, copies that differ are all quarantined, and a row
earlier than some remaining row above it is out of order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from tradewind.config import ConflictPolicy, ImportSpec
from tradewind.domain import PriceSide, Timeframe
from tradewind.pipelines.ingest import ImportReport, import_file
from tradewind.pipelines.setup import initialise
from tradewind.storage import batches, catalog
from tradewind.storage.bars import BarKey, read_bars
from tradewind.storage.engine import make_engine

REPO = Path(__file__).resolve().parents[2]
UNIVERSE = REPO / "configs" / "universe" / "fx_majors.yaml"
T0 = datetime(2024, 1, 2, tzinfo=UTC)
SLOTS = 10  # timestamps T0 + 0..9 hours: small, so duplicates and overlaps are common
VARIANTS = 3  # values per timestamp: same variant = identical row, another = a differing one
DEFECTS = (
    "nan",
    "inf",
    "zero_open",
    "negative_close",
    "high_below",
    "low_above",
    "negative_volume",
    "off_grid",
    "missing_cell",
    "bad_number",
    "bad_timestamp",
    "malformed",
)

Values = tuple[float, float, float, float, float]


def values(slot: int, variant: int) -> Values:
    o = round(1.1 + 0.001 * slot + 0.0001 * variant, 5)
    c = round(o + 0.0002 * (variant - 1), 5)
    return o, round(max(o, c) + 0.0003, 5), round(min(o, c) - 0.0003, 5), c, float(10 + variant)


def stamp(slot: int, minutes: int = 0) -> str:
    return (T0 + timedelta(hours=slot, minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Row:
    slot: int
    variant: int
    defect: str | None

    @property
    def values(self) -> Values:
        return values(self.slot, self.variant)

    def csv(self) -> str:
        minutes = 30 if self.defect == "off_grid" else 0
        cells = [stamp(self.slot, minutes), *map(repr, self.values)]
        o, _, _, c, _ = self.values
        match self.defect:
            case "nan":
                cells[1] = "nan"
            case "inf":
                cells[2] = "inf"
            case "zero_open":
                cells[1] = "0"
            case "negative_close":
                cells[4] = repr(-c)
            case "high_below":
                cells[2] = repr(round(min(o, c) - 0.0001, 5))
            case "low_above":
                cells[3] = repr(round(max(o, c) + 0.0001, 5))
            case "negative_volume":
                cells[5] = "-1.0"
            case "missing_cell":
                cells[3] = ""
            case "bad_number":
                cells[4] = "n/a?"
            case "bad_timestamp":
                cells[0] = "yesterday"
            case "malformed":
                cells = cells[:-1]
        return ",".join(cells)


rows_st = st.builds(
    Row,
    slot=st.integers(0, SLOTS - 1),
    variant=st.integers(0, VARIANTS - 1),
    defect=st.one_of(st.none(), st.none(), st.none(), st.sampled_from(DEFECTS)),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[int, Values], list[Row], ConflictPolicy]:
    stored = draw(st.dictionaries(st.integers(0, SLOTS - 1), st.integers(0, VARIANTS - 1)))
    rows = draw(st.lists(rows_st, max_size=16))
    if draw(st.booleans()):  # mostly ordered files, with a few stragglers inserted
        rows.sort(key=lambda r: r.slot)
        for extra in draw(st.lists(rows_st, max_size=3)):
            rows.insert(draw(st.integers(0, len(rows))), extra)
    policy = draw(st.sampled_from([ConflictPolicy.KEEP, ConflictPolicy.OVERWRITE]))
    return {s: values(s, v) for s, v in stored.items()}, rows, policy


@dataclass
class Expected:
    quarantined_lines: set[int]
    conflict_lines: set[int]
    inserted: int
    duplicates: int
    table: dict[int, Values]


def model(stored: dict[int, Values], rows: list[Row], policy: ConflictPolicy) -> Expected:
    line = {id(r): i + 2 for i, r in enumerate(rows)}  # line 1 is the header
    bad = {id(r) for r in rows if r.defect is not None}
    ok = [r for r in rows if r.defect is None]
    copies: dict[int, list[Row]] = defaultdict(list)
    for r in ok:
        copies[r.slot].append(r)
    for group in copies.values():
        if len(group) > 1:
            same = all(r.values == group[0].values for r in group)
            bad |= {id(r) for r in (group[1:] if same else group)}
    highest = -1
    for r in ok:
        if r.slot < highest:
            bad.add(id(r))
        highest = max(highest, r.slot)
    table = dict(stored)
    inserted = duplicates = 0
    conflicts: set[int] = set()
    for r in ok:
        if id(r) in bad:
            continue
        if r.slot not in stored:
            inserted += 1
            table[r.slot] = r.values
        elif stored[r.slot] == r.values:
            duplicates += 1
        else:
            conflicts.add(line[id(r)])
            if policy is ConflictPolicy.OVERWRITE:
                table[r.slot] = r.values
    return Expected({line[i] for i in bad}, conflicts, inserted, duplicates, table)


# --------------------------------------------------------------------------- database


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    initialise(eng)
    yield eng
    eng.dispose()


def clear(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in ("quarantine", "bars", "ingest_batches"):
            conn.execute(text(f"DELETE FROM {table}"))


def table(engine: Engine) -> dict[int, Values]:
    with engine.connect() as conn:
        key = BarKey(catalog.instrument_id(conn, "EUR_USD"), Timeframe.H1, PriceSide.MID)
        s = read_bars(conn, key)
    t0 = int(T0.timestamp()) * 1_000_000
    out = {}
    for ts, *vals in zip(s.ts.tolist(), s.open, s.high, s.low, s.close, s.volume, strict=True):
        slot, rest = divmod(ts - t0, 3_600_000_000)
        assert rest == 0, ts
        out[slot] = tuple(float(v) for v in vals)
    return out


def quarantine_lines(engine: Engine, batch_id: int) -> tuple[set[int], set[int]]:
    with engine.connect() as conn:
        rows = batches.list_quarantine(conn, batch_id)
    invalid = [r.line for r in rows if r.category == "invalid"]
    conflict = [r.line for r in rows if r.category == "conflict"]
    assert len(set(invalid)) == len(invalid), "a row was quarantined twice"
    return set(invalid), set(conflict)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(["time,open,high,low,close,volume", *lines]) + "\n")
    return path


def accounted(r: ImportReport) -> bool:
    return r.rows_read == r.inserted + r.skipped_duplicates + r.conflicts + r.quarantined


# --------------------------------------------------------------------------- the property


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_every_row_is_accounted_for_and_reimport_adds_nothing(
    engine: Engine, tmp_path: Path, scenario: tuple[dict[int, Values], list[Row], ConflictPolicy]
) -> None:
    pre, rows, policy = scenario
    clear(engine)
    spec = ImportSpec(instrument="EUR_USD", timeframe=Timeframe.H1, on_conflict=policy)
    if pre:
        seed = [",".join([stamp(s), *map(repr, v)]) for s, v in sorted(pre.items())]
        first = import_file(engine, write(tmp_path / "stored.csv", seed), spec)
        assert first.inserted == len(pre)
    assert table(engine) == pre

    want = model(pre, rows, policy)
    path = write(tmp_path / "drawn.csv", [r.csv() for r in rows])
    report = import_file(engine, path, spec)

    assert accounted(report), report
    assert report.rows_read == len(rows)
    assert report.quarantined == len(want.quarantined_lines)
    assert (report.inserted, report.skipped_duplicates) == (want.inserted, want.duplicates)
    assert report.conflicts == len(want.conflict_lines)
    assert report.overwritten == (report.conflicts if policy is ConflictPolicy.OVERWRITE else 0)
    assert quarantine_lines(engine, report.batch_id) == (
        want.quarantined_lines,
        want.conflict_lines,
    )
    assert table(engine) == want.table

    again = import_file(engine, path, spec)
    assert accounted(again), again
    assert again.inserted == 0
    assert again.quarantined == report.quarantined
    if policy is ConflictPolicy.KEEP:
        assert again.conflicts == report.conflicts
    else:
        assert again.conflicts == 0
    assert table(engine) == want.table
