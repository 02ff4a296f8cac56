"""Importing bar files end to end, on SQLite and Postgres: validation, quarantine, upserts.

Every test runs against a migrated database with the fx_majors universe loaded, once per
backend (``db_url``). Expectations are written from the spec ("foundation"): every row read is
stored, skipped as a duplicate, reported as a conflict, or quarantined with a reason and its
line; re-imports add nothing; conflicts follow the keep | overwrite | fail policy; a failed
import writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, text

from tradewind.config import ConflictPolicy, ImportSpec
from tradewind.config.imports import ColumnMap
from tradewind.domain import PriceSide, Timeframe
from tradewind.marketdata.columns import ImportFileError
from tradewind.pipelines.ingest import ImportReport, import_file
from tradewind.pipelines.setup import initialise
from tradewind.storage import batches, catalog
from tradewind.storage.bars import BarKey, ConflictAbort, read_bars
from tradewind.storage.catalog import UnknownInstrument
from tradewind.storage.engine import make_engine
from tradewind.storage.types import us_to_datetime

REPO = Path(__file__).resolve().parents[2]
UNIVERSE = REPO / "configs" / "universe" / "fx_majors.yaml"
T0 = datetime(2024, 1, 2, tzinfo=UTC)  # a Tuesday, on every grid
HOUR = timedelta(hours=1)
HEADER = "time,open,high,low,close,volume"
WRITE_TABLES = ("ingest_batches", "bars", "quarantine", "configs", "data_vendors")

Values = tuple[float, float, float, float, float]
Stored = tuple[datetime, float, float, float, float, float]


# --------------------------------------------------------------------------- helpers


def ready_engine(url: str) -> Engine:
    """Migrate the database at ``url`` and load the fx_majors universe into it."""
    eng = make_engine(url)
    initialise(eng)
    return eng


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = ready_engine(db_url)
    yield eng
    eng.dispose()


def spec(**kw: Any) -> ImportSpec:
    return ImportSpec.model_validate({"instrument": "EUR_USD", "timeframe": "H1", **kw})


def ohlcv(i: int, bump: float = 0.0) -> Values:
    """A valid bar whose values survive text round trips exactly (short decimals)."""
    o = round(1.1 + 0.0007 * (i % 13) + bump, 5)
    c = round(o + 0.0003 * ((i % 5) - 2), 5)
    return o, round(max(o, c) + 0.0004, 5), round(min(o, c) - 0.0002, 5), c, float(100 + i)


def at(slot: float) -> datetime:
    return T0 + slot * HOUR


def naive(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def line(ts: str, values: Sequence[object]) -> str:
    return ",".join([ts, *(repr(v) if isinstance(v, float) else str(v) for v in values)])


def write_csv(path: Path, lines: Sequence[str], header: str = HEADER, newline: str = "\n") -> Path:
    path.write_text(newline.join([header, *lines]) + newline, newline="")
    return path


def slots_csv(path: Path, slots: Sequence[int], bump: dict[int, float] | None = None) -> Path:
    """A clean CSV of bars at ``slots`` (hours after T0), values from ``ohlcv``."""
    bump = bump or {}
    return write_csv(path, [line(naive(at(s)), ohlcv(s, bump.get(s, 0.0))) for s in slots])


def expected(slots: Sequence[int], bump: dict[int, float] | None = None) -> list[Stored]:
    bump = bump or {}
    return [(at(s), *ohlcv(s, bump.get(s, 0.0))) for s in sorted(slots)]


def stored(
    engine: Engine,
    symbol: str = "EUR_USD",
    timeframe: Timeframe = Timeframe.H1,
    side: PriceSide = PriceSide.MID,
) -> list[Stored]:
    with engine.connect() as conn:
        key = BarKey(catalog.instrument_id(conn, symbol), timeframe, side)
        s = read_bars(conn, key)
    cols = zip(s.ts.tolist(), s.open, s.high, s.low, s.close, s.volume, strict=True)
    return [
        (us_to_datetime(t), float(o), float(h), float(lo), float(c), float(v))
        for t, o, h, lo, c, v in cols
    ]


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.scalar(text(f"SELECT count(*) FROM {t}"))) for t in WRITE_TABLES}


def quarantine(engine: Engine, batch_id: int) -> list[tuple[int | None, str, str, dict]]:
    with engine.connect() as conn:
        rows = batches.list_quarantine(conn, batch_id)
        return [(r.line, r.category, r.reason, r.raw) for r in rows]


def batch_row(engine: Engine, batch_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = batches.get_batch(conn, batch_id)
        assert row is not None
        names = ("rows_read", "inserted", "skipped_duplicates", "conflicts", "overwritten")
        return {n: getattr(row, n) for n in (*names, "quarantined", "source_kind", "checksum")}


def accounted(r: ImportReport) -> bool:
    return r.rows_read == r.inserted + r.skipped_duplicates + r.conflicts + r.quarantined


def assert_counts(r: ImportReport, **want: int) -> None:
    got = {k: getattr(r, k) for k in want}
    assert got == want
    assert accounted(r), r


# --------------------------------------------------------------------------- clean imports


def test_clean_csv_reads_back_exactly(engine: Engine, tmp_path: Path) -> None:
    slots = list(range(48))
    path = slots_csv(tmp_path / "clean.csv", slots)
    report = import_file(engine, path, spec())

    assert_counts(report, rows_read=48, inserted=48, skipped_duplicates=0, conflicts=0)
    assert report.quarantined == 0
    assert (report.first_ts, report.last_ts) == (at(0), at(47))
    assert stored(engine) == expected(slots)
    assert all(
        ts.tzinfo is not None and ts.utcoffset() == timedelta(0) for ts, *_ in stored(engine)
    )
    row = batch_row(engine, report.batch_id)
    assert row["source_kind"] == "csv"
    assert row["inserted"] == 48
    assert row["rows_read"] == 48
    assert len(row["checksum"]) == 64
    assert quarantine(engine, report.batch_id) == []


def test_clean_parquet_reads_back_exactly(engine: Engine, tmp_path: Path) -> None:
    slots = list(range(30))
    vals = [ohlcv(s) for s in slots]
    table = pa.table(
        {
            "time": pa.array([at(s) for s in slots], pa.timestamp("us", tz="UTC")),
            **{f: [v[k] for v in vals] for k, f in enumerate(("open", "high", "low", "close"))},
            "volume": pa.array([int(v[4]) for v in vals], pa.int64()),
        }
    )
    path = tmp_path / "clean.parquet"
    pq.write_table(table, path)
    report = import_file(engine, path, spec())

    assert_counts(report, rows_read=30, inserted=30, quarantined=0)
    assert stored(engine) == expected(slots)
    assert batch_row(engine, report.batch_id)["source_kind"] == "parquet"


def test_parquet_bad_rows_are_quarantined_by_row_number(engine: Engine, tmp_path: Path) -> None:
    times = [at(0), None, at(2), at(3)]
    table = pa.table(
        {
            "time": pa.array(times, pa.timestamp("us", tz="UTC")),
            "open": [1.1, 1.1, float("nan"), 1.1],
            "high": [1.2, 1.2, 1.2, 1.2],
            "low": [1.0, 1.0, 1.0, 1.0],
            "close": [1.15, 1.15, 1.15, 1.15],
        }
    )
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)
    report = import_file(engine, path, spec())

    assert_counts(report, rows_read=4, inserted=2, quarantined=2)
    q = {ln: (cat, reason, raw) for ln, cat, reason, raw in quarantine(engine, report.batch_id)}
    assert set(q) == {2, 3}  # 1-based row numbers
    assert q[2][0] == "invalid"
    assert "timestamp is missing" in q[2][1]
    assert q[2][2]["time"] is None
    assert "open is not finite" in q[3][1]
    assert [ts for ts, *_ in stored(engine)] == [at(0), at(3)]


# --------------------------------------------------------------------------- planted bad rows

# (line text, expected reason fragment or None for a good row). Line 1 is the header.
T = [naive(at(s)) for s in range(16)]
GOOD = ohlcv(0)
PLANTED: list[tuple[str, str | None]] = [
    (line(T[0], ohlcv(0)), None),  # 2
    (line(T[1], ("nan", 1.2, 1.0, 1.15, 10.0)), "open is not finite"),  # 3
    (line(T[2], (1.1, "inf", 1.0, 1.15, 10.0)), "high is not finite"),  # 4
    (line(T[3], (0.0, 1.2, 1.0, 1.15, 10.0)), "open is not positive"),  # 5
    (line(T[4], (1.1, 1.2, 1.0, -1.15, 10.0)), "close is not positive"),  # 6
    (line(T[5], (1.1, 1.12, 1.0, 1.15, 10.0)), "high below max(open, close)"),  # 7
    (line(T[6], (1.1, 1.2, 1.12, 1.15, 10.0)), "low above min(open, close)"),  # 8
    (line(T[7], (1.1, 1.2, 1.0, 1.15, -5.0)), "volume is negative"),  # 9
    (line(naive(at(7.5)), ohlcv(7)), "timestamp not on the H1 grid"),  # 10
    (line(T[8], ohlcv(8)), None),  # 11
    (line(T[8], ohlcv(8)), "duplicate of line 11"),  # 12: identical copy
    (line(T[9], ohlcv(9)), "conflicting duplicates"),  # 13: copies that differ:
    (line(T[9], ohlcv(9, 0.001)), "conflicting duplicates"),  # 14: both quarantined
    (line(T[11], ohlcv(11)), None),  # 15
    (line(T[10], ohlcv(10)), "out of order: earlier than line 15"),  # 16
    (line(T[12], (1.1, "", 1.0, 1.15, 10.0)), "high is missing"),  # 17
    (line(T[13], (1.1, "abc", 1.0, 1.15, 10.0)), "high is not a number"),  # 18
    ("not-a-time," + ",".join(map(repr, ohlcv(13))), "unparseable timestamp"),  # 19
    (line(T[14], ohlcv(14)[:4]), "malformed row"),  # 20: a field short
    (line(T[15], ohlcv(15)), None),  # 21
]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_every_bad_row_is_quarantined_with_reason_and_line(
    engine: Engine, tmp_path: Path, newline: str
) -> None:
    path = write_csv(tmp_path / "planted.csv", [t for t, _ in PLANTED], newline=newline)
    report = import_file(engine, path, spec())

    bad = {i + 2: (t, why) for i, (t, why) in enumerate(PLANTED) if why is not None}
    assert_counts(
        report,
        rows_read=len(PLANTED),
        inserted=len(PLANTED) - len(bad),
        skipped_duplicates=0,
        conflicts=0,
        quarantined=len(bad),
    )
    q = quarantine(engine, report.batch_id)
    assert [ln for ln, *_ in q] == sorted(bad)
    for ln, category, reason, raw in q:
        text_, why = bad[ln]
        assert category == "invalid"
        assert why in reason, (ln, reason)
        assert raw == {"text": text_}, ln
    assert "lines 13, 14" in dict((ln, r) for ln, _, r, _ in q)[13]
    assert stored(engine) == [(at(s), *ohlcv(s)) for s in (0, 8, 11, 15)]
    row = batch_row(engine, report.batch_id)
    assert row["quarantined"] == len(bad)
    assert row["rows_read"] == len(PLANTED)


def test_reimporting_the_same_file_adds_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "planted.csv", [t for t, _ in PLANTED])
    first = import_file(engine, path, spec())
    bars_after_first = stored(engine)
    second = import_file(engine, path, spec())

    assert first.inserted == 4
    assert_counts(second, rows_read=first.rows_read, inserted=0, skipped_duplicates=4, conflicts=0)
    assert second.quarantined == first.quarantined
    assert second.batch_id != first.batch_id
    assert stored(engine) == bars_after_first


def test_reimporting_a_clean_file_counts_every_row_as_duplicate(
    engine: Engine, tmp_path: Path
) -> None:
    path = slots_csv(tmp_path / "clean.csv", range(24))
    import_file(engine, path, spec())
    again = import_file(engine, path, spec())
    assert_counts(again, rows_read=24, inserted=0, skipped_duplicates=24, conflicts=0)
    assert again.quarantined == 0
    assert stored(engine) == expected(range(24))


# --------------------------------------------------------------------------- merging


def test_overlapping_files_merge(engine: Engine, tmp_path: Path) -> None:
    a = import_file(engine, slots_csv(tmp_path / "a.csv", range(30)), spec())
    b = import_file(engine, slots_csv(tmp_path / "b.csv", range(20, 50)), spec())

    assert_counts(a, inserted=30, skipped_duplicates=0)
    assert_counts(b, rows_read=30, inserted=20, skipped_duplicates=10, conflicts=0, quarantined=0)
    assert stored(engine) == expected(range(50))


def test_interleaved_files_merge(engine: Engine, tmp_path: Path) -> None:
    # Same time range, disjoint timestamps: nothing is a duplicate.
    import_file(engine, slots_csv(tmp_path / "even.csv", range(0, 40, 2)), spec())
    odd = import_file(engine, slots_csv(tmp_path / "odd.csv", range(1, 40, 2)), spec())
    assert_counts(odd, rows_read=20, inserted=20, skipped_duplicates=0, conflicts=0)
    assert stored(engine) == expected(range(40))


CHANGED = {7: 0.002, 8: 0.003}


def _conflict_setup(engine: Engine, tmp_path: Path) -> tuple[ImportReport, Path]:
    first = import_file(engine, slots_csv(tmp_path / "a.csv", range(10)), spec())
    return first, slots_csv(tmp_path / "b.csv", range(5, 15), CHANGED)


def test_conflict_keep_leaves_stored_bar_and_records_conflict(
    engine: Engine, tmp_path: Path
) -> None:
    first, b = _conflict_setup(engine, tmp_path)
    report = import_file(engine, b, spec(on_conflict="keep"))

    assert_counts(report, rows_read=10, inserted=5, skipped_duplicates=3, conflicts=2)
    assert report.overwritten == 0
    assert report.quarantined == 0
    assert stored(engine) == expected(range(15), {s: CHANGED.get(s, 0.0) for s in range(10, 15)})
    q = quarantine(engine, report.batch_id)
    assert [(ln, cat) for ln, cat, *_ in q] == [(4, "conflict"), (5, "conflict")]  # slots 7, 8
    _, _, reason, raw = q[0]
    assert f"batch {first.batch_id}" in reason
    assert raw["stored"]["open"] == ohlcv(7)[0]
    assert raw["incoming"]["open"] == ohlcv(7, CHANGED[7])[0]
    assert batch_row(engine, report.batch_id)["conflicts"] == 2


def test_conflict_overwrite_replaces_stored_bar(engine: Engine, tmp_path: Path) -> None:
    _, b = _conflict_setup(engine, tmp_path)
    report = import_file(engine, b, spec(on_conflict="overwrite"))

    assert_counts(report, rows_read=10, inserted=5, skipped_duplicates=3, conflicts=2)
    assert report.overwritten == 2
    assert stored(engine) == expected(range(15), CHANGED)
    with engine.connect() as conn:
        owners = conn.execute(text("SELECT batch_id FROM bars ORDER BY ts")).scalars().all()
    assert [owners[7], owners[8]] == [report.batch_id] * 2
    assert batch_row(engine, report.batch_id)["overwritten"] == 2


def test_conflict_fail_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    _, b = _conflict_setup(engine, tmp_path)
    before, bars_before = counts(engine), stored(engine)

    with pytest.raises(ConflictAbort, match=r"2 row\(s\) conflict .*nothing was written") as exc:
        import_file(engine, b, spec(on_conflict=ConflictPolicy.FAIL))

    assert [c.line for c in exc.value.conflicts] == [4, 5]
    assert counts(engine) == before
    assert stored(engine) == bars_before


def test_fail_policy_without_conflicts_imports(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, slots_csv(tmp_path / "a.csv", range(10)), spec())
    report = import_file(
        engine, slots_csv(tmp_path / "b.csv", range(5, 15)), spec(on_conflict="fail")
    )
    assert_counts(report, inserted=5, skipped_duplicates=5, conflicts=0)


# --------------------------------------------------------------------------- time


def test_naive_local_times_are_stored_in_utc(engine: Engine, tmp_path: Path) -> None:
    ny = "America/New_York"
    rows = [
        "2024-03-10 01:00:00",  # EST -> 06:00Z
        "2024-03-10 02:00:00",  # does not exist (spring forward)
        "2024-03-10 03:00:00",  # EDT -> 07:00Z
        "2024-11-03 00:00:00",  # EDT -> 04:00Z
        "2024-11-03 01:00:00",  # ambiguous (fall back)
        "2024-11-03 02:00:00",  # EST -> 07:00Z
    ]
    path = write_csv(tmp_path / "ny.csv", [line(t, GOOD) for t in rows])
    report = import_file(engine, path, spec(timezone=ny))

    assert_counts(report, rows_read=6, inserted=4, quarantined=2)
    got = [ts for ts, *_ in stored(engine)]
    assert got == [
        datetime(2024, 3, 10, 6, tzinfo=UTC),
        datetime(2024, 3, 10, 7, tzinfo=UTC),
        datetime(2024, 11, 3, 4, tzinfo=UTC),
        datetime(2024, 11, 3, 7, tzinfo=UTC),
    ]
    q = quarantine(engine, report.batch_id)
    assert [ln for ln, *_ in q] == [3, 6]
    assert all(ny in reason and "DST" in reason for _, _, reason, _ in q)


def test_aware_offsets_are_converted_whatever_the_timezone_setting(
    engine: Engine, tmp_path: Path
) -> None:
    rows = ["2024-02-01T05:00:00+05:00", "2024-02-01T01:00:00Z", "2024-02-01T00:00:00-02:00"]
    path = write_csv(tmp_path / "aware.csv", [line(t, GOOD) for t in rows])
    report = import_file(engine, path, spec(timezone="America/New_York"))

    assert_counts(report, rows_read=3, inserted=3, quarantined=0)
    assert [ts for ts, *_ in stored(engine)] == [
        datetime(2024, 2, 1, h, tzinfo=UTC) for h in range(3)
    ]


def test_naive_times_next_to_aware_ones_use_the_timezone(engine: Engine, tmp_path: Path) -> None:
    rows = ["2024-02-01T05:00:00Z", "2024-02-01T01:00:00"]  # 01:00 New York = 06:00Z
    path = write_csv(tmp_path / "mixed.csv", [line(t, GOOD) for t in rows])
    report = import_file(engine, path, spec(timezone="America/New_York"))
    assert report.inserted == 2
    assert [ts for ts, *_ in stored(engine)] == [
        datetime(2024, 2, 1, 5, tzinfo=UTC),
        datetime(2024, 2, 1, 6, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("unit", "scale"), [("s", 1), ("ms", 1_000), ("us", 1_000_000)], ids=["s", "ms", "us"]
)
def test_epoch_timestamps(engine: Engine, tmp_path: Path, unit: str, scale: int) -> None:
    epoch = [int(at(s).timestamp()) for s in range(3)]
    off_grid = epoch[-1] + 1800
    lines_ = [line(str(e * scale), ohlcv(i)) for i, e in enumerate([*epoch, off_grid])]
    report = import_file(engine, write_csv(tmp_path / "e.csv", lines_), spec(epoch_unit=unit))

    assert_counts(report, rows_read=4, inserted=3, quarantined=1)
    assert stored(engine) == expected(range(3))
    [(ln, _, reason, _)] = quarantine(engine, report.batch_id)
    assert ln == 5
    assert "not on the H1 grid" in reason


def test_sub_microsecond_off_grid_time_is_quarantined(engine: Engine, tmp_path: Path) -> None:
    ns = int(at(0).timestamp()) * 1_000_000_000 + 500
    path = write_csv(tmp_path / "ns.csv", [line(str(ns), GOOD)])
    report = import_file(engine, path, spec(epoch_unit="ns"))
    assert report.quarantined == 1
    assert stored(engine) == []


# --------------------------------------------------------------------------- columns and sides


def test_column_mapping_with_odd_names(engine: Engine, tmp_path: Path) -> None:
    header = "When (UTC),First,Max,Min,Last,Ticks Traded,spread"
    lines_ = [line(naive(at(s)), (*ohlcv(s), 0.0001)) for s in range(5)]
    path = write_csv(tmp_path / "odd.csv", lines_, header=header)
    cols = ColumnMap(
        time="When (UTC)", open="First", high="Max", low="Min", close="Last", volume="Ticks Traded"
    )
    report = import_file(engine, path, spec(columns=cols))
    assert_counts(report, rows_read=5, inserted=5, quarantined=0)
    assert stored(engine) == expected(range(5))


def test_common_column_names_are_detected(engine: Engine, tmp_path: Path) -> None:
    lines_ = [line(naive(at(s)), ohlcv(s)) for s in range(3)]
    path = write_csv(tmp_path / "syn.csv", lines_, header="Timestamp,O,H,L,C,Vol")
    assert import_file(engine, path, spec()).inserted == 3
    assert stored(engine) == expected(range(3))


def test_bid_and_ask_are_kept_apart(engine: Engine, tmp_path: Path) -> None:
    spread = 0.0002
    bid = [ohlcv(s) for s in range(6)]
    ask = [(*(round(x + spread, 5) for x in v[:4]), v[4]) for v in bid]
    for name, vals in (("bid", bid), ("ask", ask)):
        lines_ = [line(naive(at(s)), v) for s, v in enumerate(vals)]
        report = import_file(engine, write_csv(tmp_path / f"{name}.csv", lines_), spec(side=name))
        assert_counts(report, inserted=6, skipped_duplicates=0, conflicts=0)
    assert stored(engine, side=PriceSide.BID) == [(at(s), *v) for s, v in enumerate(bid)]
    assert stored(engine, side=PriceSide.ASK) == [(at(s), *v) for s, v in enumerate(ask)]
    assert stored(engine, side=PriceSide.MID) == []


# --------------------------------------------------------------------------- whole-file errors


def test_unknown_instrument_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = slots_csv(tmp_path / "a.csv", range(3))
    before = counts(engine)
    with pytest.raises(UnknownInstrument, match="unknown instrument 'EUR_XXX'"):
        import_file(engine, path, spec(instrument="EUR_XXX"))
    assert counts(engine) == before


@pytest.mark.parametrize(
    ("header", "columns", "needle"),
    [
        ("time,price,volume", None, "no column for open, high, low, close"),
        (HEADER, ColumnMap(close="Last"), "'Last' mapped to close is not in the file"),
    ],
    ids=["missing", "bad-mapping"],
)
def test_wrong_columns_write_nothing(
    engine: Engine, tmp_path: Path, header: str, columns: ColumnMap | None, needle: str
) -> None:
    path = write_csv(tmp_path / "w.csv", [line(naive(at(0)), ohlcv(0))], header=header)
    before = counts(engine)
    with pytest.raises(ImportFileError, match=needle.replace("(", r"\(")):
        import_file(engine, path, spec(columns=columns or ColumnMap()))
    assert counts(engine) == before


def _unreadable(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / {"missing": "missing.csv", "directory": "dir.csv"}.get(kind, kind)
    if kind == "directory":
        path.mkdir()
    elif kind == "empty.csv":
        path.write_text("\n\n")
    elif kind == "bad.parquet":
        path.write_bytes(b"PAR1 this is not parquet")
    return path


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("missing", "no such file"),
        ("directory", "is a directory"),
        ("empty.csv", "empty"),
        ("bad.parquet", "not a readable Parquet file"),
    ],
)
def test_unreadable_files_write_nothing(
    engine: Engine, tmp_path: Path, kind: str, needle: str
) -> None:
    path = _unreadable(kind, tmp_path)
    before = counts(engine)
    with pytest.raises(ImportFileError, match=needle):
        import_file(engine, path, spec())
    assert counts(engine) == before


# --------------------------------------------------------------------------- line numbers


def test_line_numbers_survive_blank_lines_before_a_malformed_row(
    engine: Engine, tmp_path: Path
) -> None:
    lines_ = [
        line(naive(at(0)), ohlcv(0)),  # 2
        "",  # 3
        line(naive(at(1)), ohlcv(1)[:3]),  # 4: malformed
        line(naive(at(3)), ohlcv(3)),  # 5
        line(naive(at(2)), ohlcv(2)),  # 6: out of order
    ]
    report = import_file(engine, write_csv(tmp_path / "blank.csv", lines_), spec())
    q = quarantine(engine, report.batch_id)
    assert [(ln, raw["text"]) for ln, _, _, raw in q] == [(4, lines_[2]), (6, lines_[4])]


def test_blank_lines_without_malformed_rows_keep_line_numbers(
    engine: Engine, tmp_path: Path
) -> None:
    lines_ = [
        line(naive(at(0)), ohlcv(0)),  # 2
        "",  # 3
        line(naive(at(2)), ohlcv(2)),  # 4
        "",  # 5
        "",  # 6
        line(naive(at(1)), ohlcv(1)),  # 7: out of order
    ]
    report = import_file(engine, write_csv(tmp_path / "blank.csv", lines_), spec())
    assert_counts(report, rows_read=3, inserted=2, quarantined=1)
    [(ln, _, reason, raw)] = quarantine(engine, report.batch_id)
    assert (ln, raw["text"]) == (7, lines_[5])
    assert "earlier than line 4" in reason
