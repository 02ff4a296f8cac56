"""Postgres binary COPY for fixed-width columns, encoded and decoded with numpy, no row loop.

Binary COPY rows are: int16 field count, then per field an int32 length and the value in
network byte order. With only NOT NULL int8/float8/timestamptz fields every row has the same
size, so a whole result is one structured numpy array. timestamptz is int64 microseconds since
2000-01-01 UTC.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + struct.pack("!ii", 0, 0)
TRAILER = struct.pack("!h", -1)
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds

_KINDS = {"int8": ">i8", "int4": ">i4", "float8": ">f8", "timestamptz": ">i8"}
_SIZES = {"int8": 8, "int4": 4, "float8": 8, "timestamptz": 8}


def _kind(kind: str) -> tuple[str, int]:
    """numpy type and byte length; ``text:K`` is a fixed K-byte UTF-8 string (a constant)."""
    if kind.startswith("text:"):
        k = int(kind.split(":", 1)[1])
        return f"S{k}", k
    return _KINDS[kind], _SIZES[kind]


def row_dtype(fields: Sequence[tuple[str, str]]) -> np.dtype:
    """The numpy layout of one binary COPY row of ``(name, pg_type)`` fields."""
    layout: list[tuple[str, str]] = [("_n", ">i2")]
    for name, kind in fields:
        layout += [(f"_len_{name}", ">i4"), (name, _kind(kind)[0])]
    return np.dtype(layout)


def encode(fields: Sequence[tuple[str, str]], columns: dict[str, npt.NDArray | object]) -> bytes:
    """One binary COPY payload (header, rows, trailer); timestamptz columns are Unix µs.

    A column may be a scalar, repeated on every row (an instrument id, a batch id).
    """
    return b"".join(encode_chunks(fields, columns))


def encode_chunks(
    fields: Sequence[tuple[str, str]],
    columns: dict[str, npt.NDArray | object],
    rows_per_chunk: int = 1 << 16,
) -> Iterator[bytes | memoryview]:
    """The payload of :func:`encode` in pieces (header, ~``rows_per_chunk`` rows each, trailer).

    Rows are built chunk by chunk from a template row holding the field count, the lengths and
    the scalar columns, so a caller can send one chunk while the server digests the last.
    """
    dt = row_dtype(fields)
    n = max(len(v) for v in columns.values() if isinstance(v, np.ndarray))
    template = np.zeros(1, dtype=dt)
    template["_n"] = len(fields)
    varying: list[tuple[str, npt.NDArray]] = []
    for name, kind in fields:
        template[f"_len_{name}"] = _kind(kind)[1]
        values = columns[name]
        if kind == "timestamptz":
            values = np.asarray(values, dtype=np.int64) - PG_EPOCH_US
        if isinstance(values, np.ndarray) and values.ndim:
            if len(values) != n:
                raise ValueError(f"column {name} has {len(values)} rows, expected {n}")
            varying.append((name, values))
        else:
            template[name] = values
    step = max(rows_per_chunk, 1)
    yield HEADER
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        rows = np.empty(hi - lo, dtype=dt)
        rows[...] = template[0]
        for name, values in varying:
            rows[name] = values[lo:hi]
        yield rows.view(np.uint8).data
    yield TRAILER


def decode(fields: Sequence[tuple[str, str]], chunks: Iterable[bytes]) -> dict[str, npt.NDArray]:
    """Columns from a binary COPY TO result; timestamptz comes back as Unix µs (int64)."""
    data = b"".join(bytes(c) for c in chunks)
    if not data.startswith(SIGNATURE):
        raise ValueError("not a Postgres binary COPY stream")
    (ext_len,) = struct.unpack_from("!i", data, len(SIGNATURE) + 4)
    start = len(SIGNATURE) + 8 + ext_len
    if data[-2:] != TRAILER:
        raise ValueError("binary COPY stream has no trailer: the transfer was cut short")
    body = memoryview(data)[start:-2]
    dt = row_dtype(fields)
    if len(body) % dt.itemsize:
        raise ValueError("binary COPY stream has rows of unexpected size (a NULL value?)")
    rows = np.frombuffer(body, dtype=dt)
    if len(rows) and (rows["_n"] != len(fields)).any():
        raise ValueError("binary COPY stream has rows with an unexpected field count")
    out: dict[str, npt.NDArray] = {}
    for name, kind in fields:
        if len(rows) and (rows[f"_len_{name}"] != 8).any():
            raise ValueError(f"binary COPY column {name} has NULL or non-8-byte values")
        col = rows[name].astype(np.int64 if kind != "float8" else np.float64)
        out[name] = col + PG_EPOCH_US if kind == "timestamptz" else col
    return out


def decode_send(data: bytes | memoryview | None, kind: str) -> npt.NDArray:
    """Concatenated ``*send`` values of one 8-byte type (e.g. ``string_agg(float8send(x), '')``).

    None (an aggregate over no rows) is an empty column; timestamptz comes back as Unix µs.
    """
    if kind not in ("int8", "float8", "timestamptz"):
        raise ValueError(f"decode_send handles 8-byte types only, not {kind}")
    buf = b"" if data is None else data
    if len(buf) % 8:
        raise ValueError(f"{kind} column of {len(buf)} bytes is not a whole number of values")
    col = np.frombuffer(buf, dtype=_KINDS[kind]).astype(
        np.float64 if kind == "float8" else np.int64
    )
    return col + PG_EPOCH_US if kind == "timestamptz" else col
