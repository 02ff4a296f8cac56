"""File readers: column detection and mapping, time zones, epochs, honest line numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradewind.cli.data import _columns
from tradewind.config import ImportSpec
from tradewind.config.imports import ColumnMap
from tradewind.marketdata.columns import ImportFileError
from tradewind.marketdata.readers import read_bar_file

T0 = 1_704_067_200_000_000  # 2024-01-01T00:00Z in µs


def spec(**kw: object) -> ImportSpec:
    return ImportSpec.model_validate({"instrument": "EUR_USD", "timeframe": "H1", **kw})


def write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_detects_common_column_names_case_insensitive(tmp_path: Path) -> None:
    p = write(tmp_path, "Timestamp,O,H,L,C,Vol\n2024-01-01 00:00:00,1,2,0.5,1.5,3\n")
    parsed = read_bar_file(p, spec())
    assert parsed.bars.ts.tolist() == [T0]
    assert parsed.bars.close.tolist() == [1.5]
    assert parsed.bars.volume.tolist() == [3.0]
    assert parsed.issues.count == 0


def test_explicit_mapping_and_missing_volume_is_zero(tmp_path: Path) -> None:
    p = write(tmp_path, "when,a,b,c,d\n2024-01-01T00:00:00Z,1,2,0.5,1.5\n")
    m = ColumnMap(time="when", open="a", high="b", low="c", close="d")
    parsed = read_bar_file(p, spec(columns=m))
    assert parsed.bars.volume.tolist() == [0.0]


def test_wrong_columns_name_what_is_missing(tmp_path: Path) -> None:
    p = write(tmp_path, "time,open,high,low\n2024-01-01,1,1,1\n")
    with pytest.raises(ImportFileError, match=r"no column for close .*columns: time, open"):
        read_bar_file(p, spec())
    with pytest.raises(ImportFileError, match="'Last' mapped to close is not in the file"):
        read_bar_file(p, spec(columns=ColumnMap(close="Last")))


def test_naive_local_times_become_utc_and_dst_gaps_are_quarantined(tmp_path: Path) -> None:
    # 2024-03-10 02:30 does not exist in New York (clocks jump from 02:00 to 03:00).
    p = write(
        tmp_path,
        "time,open,high,low,close\n2024-01-01 00:00:00,1,1,1,1\n2024-03-10 02:30:00,1,1,1,1\n",
    )
    parsed = read_bar_file(p, spec(timezone="America/New_York"))
    assert parsed.bars.ts[0] == T0 + 5 * 3_600_000_000
    assert "ambiguous or does not exist" in parsed.issues.reasons()[1]


def test_offsets_and_epochs(tmp_path: Path) -> None:
    p = write(tmp_path, "time,open,high,low,close\n2024-01-01T02:00:00+02:00,1,1,1,1\n")
    assert read_bar_file(p, spec()).bars.ts.tolist() == [T0]
    p = write(tmp_path, "time,open,high,low,close\n1704067200,1,1,1,1\n")
    assert read_bar_file(p, spec()).bars.ts.tolist() == [T0]
    p = write(tmp_path, "time,open,high,low,close\n1704067200000,1,1,1,1\n")
    assert read_bar_file(p, spec(epoch_unit="ms")).bars.ts.tolist() == [T0]


def test_bad_cells_are_reasons_not_failures(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "time,open,high,low,close\n"
        "2024-01-01T00:00:00Z,1,1,1,1\n"
        "yesterday,1,1,1,1\n"
        "2024-01-01T02:00:00Z,1,1,1,\n"
        "2024-01-01T03:00:00Z,1,1,1,one\n",
    )
    parsed = read_bar_file(p, spec())
    r = parsed.issues.reasons()
    assert r == {
        1: "unparseable timestamp 'yesterday'",
        2: "close is missing",
        3: "close is not a number: 'one'",
    }
    assert parsed.bars.lines.tolist() == [2, 3, 4, 5]
    assert parsed.raw_rows(np.array([2]))[0]["text"] == "2024-01-01T02:00:00Z,1,1,1,"


def test_parquet_with_native_types(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "time": pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC"),
            "open": [1.0, 1.0, 1.0],
            "high": [2.0, 2.0, 2.0],
            "low": [0.5, 0.5, 0.5],
            "close": [1.5, 1.5, float("nan")],
            "volume": [1, 2, 3],
        }
    )
    p = tmp_path / "f.parquet"
    df.to_parquet(p)
    parsed = read_bar_file(p, spec())
    assert parsed.bars.ts.tolist() == [T0, T0 + 3_600_000_000, T0 + 7_200_000_000]
    assert parsed.source_kind == "parquet"
    # pandas stores NaN as a Parquet null: the row is quarantined as missing, raw kept as null.
    assert parsed.issues.reasons() == {2: "close is missing"}
    assert parsed.raw_rows(np.array([2]))[0]["close"] is None


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [(None, "missing.csv", "no such file"), ("", "empty.csv", "empty"), ("x", "f.xlsx", "format")],
)
def test_unreadable_files(tmp_path: Path, content: str | None, name: str, needle: str) -> None:
    p = tmp_path / name
    if content is not None:
        p.write_text(content)
    with pytest.raises(ImportFileError, match=needle):
        read_bar_file(p, spec())


def test_unnamed_first_column_is_mapped_by_position(tmp_path: Path) -> None:
    p = write(tmp_path, ",Open,High,Low,Close\n2024-01-01 00:00:00,1,2,0.5,1.5\n")
    with pytest.raises(ImportFileError) as err:
        read_bar_file(p, spec())
    # The suggestion names the unnamed column by position, and it works as given.
    assert "columns: #1 (unnamed), Open, High, Low, Close" in str(err.value)
    assert "--columns 'time=#1'" in str(err.value)
    parsed = read_bar_file(p, spec(columns=ColumnMap(time="#1")))
    assert parsed.bars.ts.tolist() == [T0]
    assert parsed.bars.close.tolist() == [1.5]
    assert parsed.issues.count == 0


def test_position_and_repeated_headers(tmp_path: Path) -> None:
    p = write(tmp_path, "t,x,x,Low,Close,High\n2024-01-01 00:00:00,9,1,0.5,1.5,2\n")
    parsed = read_bar_file(p, spec(columns=ColumnMap(time="#1", open="#3")))
    assert parsed.bars.open.tolist() == [1.0]
    with pytest.raises(ImportFileError, match=r"'#9' mapped to open is out of range"):
        read_bar_file(p, spec(columns=ColumnMap(time="t", open="#9")))
    with pytest.raises(ImportFileError, match=r"'x' mapped to open is not in the file"):
        read_bar_file(p, spec(columns=ColumnMap(time="t", open="x")))


def test_missing_price_columns_get_a_working_suggestion(tmp_path: Path) -> None:
    p = write(tmp_path, "Date,Open Price,Hi,Lo,Last\n2024-01-01,1,2,0.5,1.5\n")
    with pytest.raises(ImportFileError) as err:
        read_bar_file(p, spec())
    msg = str(err.value)
    assert "no column for open, high, low, close" in msg
    assert "--columns FIELD=COLUMN" in msg  # no guess for every field: the general form
    p2 = write(
        tmp_path,
        "Date,Open Price,High Price,Low Price,Close Price\n2024-01-01,1,2,0.5,1.5\n",
        "g.csv",
    )
    with pytest.raises(ImportFileError) as err2:
        read_bar_file(p2, spec())
    hint = str(err2.value).split("--columns ")[-1]
    assert hint == "'open=Open Price,high=High Price,low=Low Price,close=Close Price'"
    mapped = _columns(hint.strip("'"))  # as the shell hands it to the CLI
    assert read_bar_file(p2, spec(columns=mapped)).bars.close.tolist() == [1.5]
