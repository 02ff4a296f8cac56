"""Postgres side of the bar store: binary COPY in and out, merge through a temp table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from psycopg import errors as pg_errors
from psycopg import sql
from sqlalchemy import Connection

from tradewind.domain import BarSeries
from tradewind.domain.series import VALUE_FIELDS
from tradewind.storage import pgcopy
from tradewind.storage.types import us_to_datetime

if TYPE_CHECKING:
    from tradewind.storage.bars import Conflict

CHUNK_ROWS = 1 << 16  # rows per COPY chunk: ~7 MB for a bars row
_VALUES = [(f, "float8") for f in VALUE_FIELDS]
_STAGE_FIELDS = [("line", "int8"), ("ts", "timestamptz"), *_VALUES]
_READ_FIELDS = [("ts", "timestamptz"), *_VALUES]
_COLS = ", ".join(VALUE_FIELDS)


def _copy_in(conn: Connection, statement: str, chunks: Iterable[bytes | memoryview]) -> None:
    """Stream a binary COPY payload; each chunk is encoded only when the last one is sent."""
    raw = conn.connection.driver_connection
    assert raw is not None  # a checked-out connection has its psycopg connection
    with raw.cursor() as cur, cur.copy(statement) as cp:
        for chunk in chunks:
            cp.write(chunk)


def _values(bars: BarSeries) -> dict[str, npt.NDArray]:
    return {f: getattr(bars, f) for f in VALUE_FIELDS}


def insert_new(conn: Connection, sid: int, bars: BarSeries, batch_id: int) -> int | None:
    """COPY straight into bars; None if a concurrent writer got there first (then merge)."""
    fields = [("series_id", "int4"), ("ts", "timestamptz"), *_VALUES, ("batch_id", "int4")]
    payload = pgcopy.encode_chunks(
        fields,
        {"series_id": sid, "ts": bars.ts, **_values(bars), "batch_id": batch_id},
        CHUNK_ROWS,
    )
    names = ", ".join(n for n, _ in fields)
    savepoint = conn.begin_nested()
    try:
        _copy_in(conn, f"COPY bars ({names}) FROM STDIN (FORMAT binary)", payload)
    except pg_errors.UniqueViolation:
        savepoint.rollback()
        return None
    savepoint.commit()
    return len(bars)


def stage(conn: Connection, sid: int, bars: BarSeries) -> list[Conflict]:
    from tradewind.storage.bars import conflict_rows

    conn.exec_driver_sql(
        "CREATE TEMP TABLE tw_stage (line int8 NOT NULL, ts timestamptz PRIMARY KEY, "
        "open float8 NOT NULL, high float8 NOT NULL, low float8 NOT NULL, "
        "close float8 NOT NULL, volume float8 NOT NULL) ON COMMIT DROP"
    )
    payload = pgcopy.encode_chunks(
        _STAGE_FIELDS, {"line": bars.lines, "ts": bars.ts, **_values(bars)}, CHUNK_ROWS
    )
    _copy_in(conn, f"COPY tw_stage (line, ts, {_COLS}) FROM STDIN (FORMAT binary)", payload)
    conn.exec_driver_sql("ANALYZE tw_stage")
    rows = conn.exec_driver_sql(
        "SELECT s.line, (extract(epoch FROM s.ts) * 1000000)::int8, "
        "s.open, s.high, s.low, s.close, s.volume, "
        "b.open, b.high, b.low, b.close, b.volume, b.batch_id "
        "FROM tw_stage s JOIN bars b ON b.series_id = %(sid)s AND b.ts = s.ts "
        f"WHERE (s.{_COLS.replace(', ', ', s.')}) IS DISTINCT FROM "
        f"(b.{_COLS.replace(', ', ', b.')}) ORDER BY s.line",
        {"sid": sid},
    ).all()
    return conflict_rows([tuple(r) for r in rows])


def insert_staged(conn: Connection, sid: int, batch_id: int) -> int:
    res = conn.exec_driver_sql(
        f"INSERT INTO bars (series_id, ts, {_COLS}, batch_id) "
        f"SELECT %(sid)s, ts, {_COLS}, %(b)s FROM tw_stage ON CONFLICT DO NOTHING",
        {"sid": sid, "b": batch_id},
    )
    return int(res.rowcount)


def overwrite_staged(conn: Connection, sid: int, batch_id: int) -> int:
    sets = ", ".join(f"{c} = s.{c}" for c in VALUE_FIELDS)
    res = conn.exec_driver_sql(
        f"UPDATE bars b SET {sets}, batch_id = %(b)s FROM tw_stage s "
        "WHERE b.series_id = %(sid)s "
        f"AND b.ts = s.ts AND (s.{_COLS.replace(', ', ', s.')}) IS DISTINCT FROM "
        f"(b.{_COLS.replace(', ', ', b.')})",
        {"sid": sid, "b": batch_id},
    )
    return int(res.rowcount)


def drop_stage(conn: Connection) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS tw_stage")


READ_PAGE = 1 << 24  # rows per aggregated read query: 128 MB a column, far below 1 GB


def read_range(
    conn: Connection, sid: int, start: datetime | None, end: datetime | None
) -> dict[str, npt.NDArray]:
    """Read in pages of up to READ_PAGE rows, each one row of per-column binary strings.

    Each column comes back as one ``bytea``: the ``*send`` binary form of every value, 8 bytes
    each, concatenated by ``string_agg``. One value per column instead of one message per
    row keeps Python out of the per-row path. All aggregates of a query see the rows in the
    same order, so the columns stay aligned; the ts order is checked, not assumed.
    """
    names = [n for n, _ in _READ_FIELDS]
    aggregates = sql.SQL(", ").join(
        sql.SQL("string_agg({}({}), ''::bytea)").format(
            sql.SQL("timestamptz_send" if kind == "timestamptz" else "float8send"),
            sql.Identifier(name),
        )
        for name, kind in _READ_FIELDS
    )
    where = [sql.SQL("series_id = %(sid)s")]
    params: dict[str, object] = {"sid": sid}
    if end is not None:
        where.append(sql.SQL("ts < %(end)s"))
        params["end"] = end
    first = None
    if start is not None:
        first = sql.SQL("ts >= %(start)s")
        params["start"] = start
    query = sql.SQL("SELECT {} FROM (SELECT {} FROM bars WHERE {} ORDER BY ts LIMIT {}) AS page")
    pages: list[list[npt.NDArray]] = []
    raw = conn.connection.driver_connection
    assert raw is not None  # a checked-out connection has its psycopg connection
    with raw.cursor(binary=True) as cur:
        while True:
            conds = [*where, first] if first is not None else where
            q = query.format(
                aggregates,
                sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.SQL(" AND ").join(conds),
                sql.Literal(READ_PAGE),
            )
            cur.execute(q, params)
            row = cur.fetchone()
            cols = [
                pgcopy.decode_send(row[j] if row else None, kind)
                for j, (_, kind) in enumerate(_READ_FIELDS)
            ]
            if any(len(c) != len(cols[0]) for c in cols):
                raise ValueError("bar columns came back with different lengths (a NULL value?)")
            pages.append(cols)
            if len(cols[0]) < READ_PAGE:
                break
            first = sql.SQL("ts > %(after)s")
            params["after"] = us_to_datetime(int(cols[0].max()))
    out = [
        np.concatenate(parts) if len(pages) > 1 else parts[0] for parts in zip(*pages, strict=True)
    ]
    ts = out[0]
    if len(ts) > 1 and not bool((ts[1:] > ts[:-1]).all()):
        order = np.argsort(ts, kind="stable")
        out = [c[order] for c in out]
    return dict(zip(names, out, strict=True))
