"""Read CSV and Parquet bar files into a BarSeries plus the problems found while parsing."""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tradewind.config.imports import FileFormat, ImportSpec
from tradewind.domain import BarSeries, Timeframe
from tradewind.marketdata.columns import ImportFileError, resolve_columns, unique_names
from tradewind.marketdata.issues import Mask, RowIssues
from tradewind.marketdata.timestamps import to_epoch_us

_NULLS = ["", "NULL", "null", "NA", "N/A", "#N/A", "None"]


@dataclass
class ParsedFile:
    """What a reader found: bars (bad cells hold placeholders) and every problem, by row."""

    source: str
    source_kind: str
    checksum: str
    bars: BarSeries
    issues: RowIssues
    unparsed: dict[str, Mask]
    raw_rows: Callable[[npt.NDArray[np.int64]], list[dict[str, Any]]]
    malformed: list[tuple[int | None, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return len(self.bars) + len(self.malformed)


def detect_format(path: Path, spec: ImportSpec) -> FileFormat:
    if spec.format is not None:
        return spec.format
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return FileFormat.PARQUET
    if suffix in (".csv", ".txt", ".tsv"):
        return FileFormat.CSV
    raise ImportFileError(
        f"{path}: cannot tell the format from {suffix!r}; pass --format csv|parquet"
    )


def read_bar_file(path: str | Path, spec: ImportSpec) -> ParsedFile:
    p = Path(path)
    if p.is_dir():
        raise ImportFileError(f"{p}: is a directory, not a file")
    if not p.exists():
        raise ImportFileError(f"{p}: no such file")
    fmt = detect_format(p, spec)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{p}: is a directory, not a file") from None
    except OSError as exc:
        raise ImportFileError(f"{p}: cannot read: {exc.strerror}") from None
    if not data or data.isspace():  # as `not data.strip()`, without copying the file
        raise ImportFileError(f"{p}: the file is empty")
    checksum = hashlib.sha256(data).hexdigest()
    if fmt is FileFormat.PARQUET:
        return _read_parquet(p, data, checksum, spec)
    return _read_csv(p, data, checksum, spec)


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal | bytes):
        return str(v)
    return v


def _floats(
    col: pa.ChunkedArray, name: str, issues: RowIssues
) -> tuple[npt.NDArray[np.float64], Mask]:
    null = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    issues.add(null, f"{name} is missing")
    t = col.type
    if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        x = np.asarray(col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        return np.where(null, np.nan, x), null
    s = pd.Series(col.to_pandas(), dtype=object)
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
    text = s.astype(str).str.strip().str.lower()
    nan_literal = text.isin(["nan", "-nan", "+nan"]).to_numpy()
    bad = np.isnan(x) & ~null & ~nan_literal
    rows = np.flatnonzero(bad)
    issues.add_each(
        rows.astype(np.int64), [f"{name} is not a number: {s.iat[i]!r}" for i in rows.tolist()]
    )
    return x, null | bad


def _series(
    table: pa.Table, cols: dict[str, str], spec: ImportSpec, lines: npt.NDArray[np.int64], src: str
):
    issues = RowIssues(table.num_rows)
    unparsed: dict[str, Mask] = {}
    try:
        ts, unparsed["ts"] = to_epoch_us(
            table.column(cols["time"]),
            spec.timezone,
            spec.epoch_unit,
            issues,
            spec.time_format,
            days=spec.timeframe is Timeframe.D,
        )
    except ImportFileError as exc:
        raise ImportFileError(f"{src}: {exc}") from None
    values = {}
    for name in ("open", "high", "low", "close", "volume"):
        if name in cols:
            values[name], unparsed[name] = _floats(table.column(cols[name]), name, issues)
        else:
            values[name] = np.zeros(table.num_rows)
    return BarSeries(ts=ts, line=lines, **values), issues, unparsed


def _read_csv(p: Path, data: bytes, checksum: str, spec: ImportSpec) -> ParsedFile:
    nl = data.find(b"\n")
    first = (data if nl < 0 else data[:nl]).decode("utf-8-sig", errors="replace").rstrip("\r")
    header = next(csv.reader([first]))
    cols = resolve_columns(header, spec.columns, str(p), spec.volume_required)
    names = unique_names(header)
    # Unnamed or repeated headers: read every column under its unique name instead.
    renamed = names != header
    wanted = list(dict.fromkeys(cols.values()))
    value_cols = [c for f, c in cols.items() if f != "time"]
    bad_rows: list[Any] = []

    def on_invalid(row: Any) -> str:
        bad_rows.append(row)
        return "skip"

    def attempt(types: dict[str, pa.DataType], threads: bool) -> pa.Table:
        bad_rows.clear()
        return pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                use_threads=threads,
                encoding="utf-8",
                column_names=names if renamed else None,
                skip_rows=1 if renamed else 0,
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=wanted,
                null_values=_NULLS,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )

    try:
        try:
            table = attempt(dict.fromkeys(value_cols, pa.float64()), True)
        except pa.ArrowInvalid as exc:
            if "conversion error" not in str(exc).lower() and "parse" not in str(exc).lower():
                raise
            # Some cell is not what its column should hold: read text and judge cell by cell.
            table = attempt(dict.fromkeys(wanted, pa.string()), True)
        if bad_rows and any(r.number is None for r in bad_rows):
            table = attempt({c: table.schema.field(c).type for c in wanted}, False)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{p}: not a readable CSV file: {exc}") from None

    texts = _LineIndex(data)
    # pyarrow numbers rows among the non-empty lines; map those numbers to physical lines.
    physical = {int(r.number): texts.physical(int(r.number)) for r in bad_rows}
    if physical or texts.has_blank_lines:
        lines = texts.data_lines(table.num_rows, set(physical.values()))
    else:  # one row a line after the header: no need to index the whole file
        lines = np.arange(2, table.num_rows + 2, dtype=np.int64)
    malformed: list[tuple[int | None, str, dict[str, Any]]] = [
        (
            physical[int(r.number)],
            f"malformed row: expected {r.expected_columns} fields, got {r.actual_columns}",
            {"text": r.text},
        )
        for r in bad_rows
    ]
    bars, issues, unparsed = _series(table, cols, spec, lines, str(p))

    def raw_rows(idx: npt.NDArray[np.int64]) -> list[dict[str, Any]]:
        return [{"text": texts.text(int(lines[i]))} for i in idx.tolist()]

    return ParsedFile(str(p), "csv", checksum, bars, issues, unparsed, raw_rows, malformed)


class _LineIndex:
    """Line numbers and texts of a CSV's bytes, for honest 'line N' in every reason."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    @property
    def has_blank_lines(self) -> bool:
        """A blank line anywhere (a cheap substring search, no index built)."""
        d = self.data
        return d.startswith((b"\n", b"\r\n")) or b"\n\n" in d or b"\n\r\n" in d

    @cached_property
    def _bounds(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Start and end offsets of every line, built only when a line must be found."""
        nl = np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == 10)
        starts, ends = np.r_[0, nl + 1], np.r_[nl, len(self.data)]
        if starts[-1] >= len(self.data):  # trailing newline: no line after it
            starts, ends = starts[:-1], ends[:-1]
        return starts, ends

    @property
    def starts(self) -> npt.NDArray[np.int64]:
        return self._bounds[0]

    @property
    def ends(self) -> npt.NDArray[np.int64]:
        return self._bounds[1]

    @cached_property
    def nonempty(self) -> npt.NDArray[np.int64]:
        """1-based numbers of the lines that are not blank (a lone CR counts as blank)."""
        length = self.ends - self.starts
        cr_only = (length == 1) & (
            np.frombuffer(self.data, np.uint8)[np.minimum(self.starts, len(self.data) - 1)] == 13
        )
        return np.flatnonzero((length > 0) & ~cr_only) + 1

    def physical(self, nth_nonempty: int) -> int:
        """The line number of the n-th non-blank line (1-based), as pyarrow counts rows."""
        if 1 <= nth_nonempty <= len(self.nonempty):
            return int(self.nonempty[nth_nonempty - 1])
        return nth_nonempty

    def data_lines(self, n_rows: int, skipped: set[int]) -> npt.NDArray[np.int64]:
        candidates = self.nonempty[1:]  # the first non-empty line is the header
        if skipped:
            candidates = candidates[~np.isin(candidates, list(skipped))]
        if len(candidates) == n_rows:
            return candidates.astype(np.int64)
        return np.arange(2, n_rows + 2, dtype=np.int64)  # quoted newlines: best effort

    def text(self, line: int) -> str:
        if not 1 <= line <= len(self.starts):
            return ""
        raw = self.data[self.starts[line - 1] : self.ends[line - 1]]
        return raw.decode("utf-8", errors="replace").rstrip("\r")


def _read_parquet(p: Path, data: bytes, checksum: str, spec: ImportSpec) -> ParsedFile:
    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        header = pf.schema_arrow.names
        cols = resolve_columns(header, spec.columns, str(p), spec.volume_required)
        names = unique_names(header)
        if names == header:
            table = pf.read(columns=list(dict.fromkeys(cols.values())))
        else:
            table = pf.read().rename_columns(names).select(list(dict.fromkeys(cols.values())))
    except (pa.ArrowInvalid, OSError) as exc:
        raise ImportFileError(f"{p}: not a readable Parquet file: {exc}") from None
    lines = np.arange(1, table.num_rows + 1, dtype=np.int64)
    bars, issues, unparsed = _series(table, cols, spec, lines, str(p))

    def raw_rows(idx: npt.NDArray[np.int64]) -> list[dict[str, Any]]:
        rows = table.take(pa.array(idx)).to_pylist()
        return [{k: _json_safe(v) for k, v in r.items()} for r in rows]

    return ParsedFile(str(p), "parquet", checksum, bars, issues, unparsed, raw_rows)
