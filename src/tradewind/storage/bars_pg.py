"""Postgres side of the bar store: binary COPY in and out, merge through a temp table."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy.typing as npt
from psycopg import errors as pg_errors
from psycopg import sql
from sqlalchemy import Connection

from tradewind.domain import BarSeries
from tradewind.domain.series import VALUE_FIELDS
from tradewind.storage import pgcopy

if TYPE_CHECKING:
    from tradewind.storage.bars import BarKey, Conflict

CHUNK = 8 << 20
_VALUES = [(f, "float8") for f in VALUE_FIELDS]
_STAGE_FIELDS = [("line", "int8"), ("ts", "timestamptz"), *_VALUES]
_READ_FIELDS = [("ts", "timestamptz"), *_VALUES]
_COLS = ", ".join(VALUE_FIELDS)


def _copy_in(conn: Connection, statement: str, payload: bytes) -> None:
    raw = conn.connection.driver_connection
    view = memoryview(payload)
    with raw.cursor() as cur, cur.copy(statement) as cp:  # type: ignore[union-attr]
        for i in range(0, len(view), CHUNK):
            cp.write(view[i : i + CHUNK])


def _values(bars: BarSeries) -> dict[str, npt.NDArray]:
    return {f: getattr(bars, f) for f in VALUE_FIELDS}


def insert_new(
    conn: Connection, key: BarKey, bars: BarSeries, vendor_id: int, batch_id: int
) -> int | None:
    """COPY straight into bars; None if a concurrent writer got there first (then merge)."""
    tf, side = key.timeframe.value.encode(), key.side.value.encode()
    fields = [
        ("instrument_id", "int4"),
        ("timeframe", f"text:{len(tf)}"),
        ("side", f"text:{len(side)}"),
        ("ts", "timestamptz"),
        *_VALUES,
        ("vendor_id", "int4"),
        ("batch_id", "int4"),
    ]
    payload = pgcopy.encode(
        fields,
        {
            "instrument_id": key.instrument_id,
            "timeframe": tf,
            "side": side,
            "ts": bars.ts,
            **_values(bars),
            "vendor_id": vendor_id,
            "batch_id": batch_id,
        },
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


def stage(conn: Connection, key: BarKey, bars: BarSeries) -> list[Conflict]:
    from tradewind.storage.bars import conflict_rows

    conn.exec_driver_sql(
        "CREATE TEMP TABLE tw_stage (line int8 NOT NULL, ts timestamptz PRIMARY KEY, "
        "open float8 NOT NULL, high float8 NOT NULL, low float8 NOT NULL, "
        "close float8 NOT NULL, volume float8 NOT NULL) ON COMMIT DROP"
    )
    payload = pgcopy.encode(_STAGE_FIELDS, {"line": bars.lines, "ts": bars.ts, **_values(bars)})
    _copy_in(conn, f"COPY tw_stage (line, ts, {_COLS}) FROM STDIN (FORMAT binary)", payload)
    conn.exec_driver_sql("ANALYZE tw_stage")
    rows = conn.exec_driver_sql(
        "SELECT s.line, (extract(epoch FROM s.ts) * 1000000)::int8, "
        "s.open, s.high, s.low, s.close, s.volume, "
        "b.open, b.high, b.low, b.close, b.volume, b.batch_id "
        "FROM tw_stage s JOIN bars b ON b.instrument_id = %(i)s AND b.timeframe = %(tf)s "
        "AND b.side = %(sd)s AND b.ts = s.ts "
        f"WHERE (s.{_COLS.replace(', ', ', s.')}) IS DISTINCT FROM "
        f"(b.{_COLS.replace(', ', ', b.')}) ORDER BY s.line",
        _key(key),
    ).all()
    return conflict_rows([tuple(r) for r in rows])


def _key(key: BarKey) -> dict[str, object]:
    return {"i": key.instrument_id, "tf": key.timeframe.value, "sd": key.side.value}


def insert_staged(conn: Connection, key: BarKey, vendor_id: int, batch_id: int) -> int:
    res = conn.exec_driver_sql(
        f"INSERT INTO bars (instrument_id, timeframe, side, ts, {_COLS}, vendor_id, batch_id) "
        f"SELECT %(i)s, %(tf)s, %(sd)s, ts, {_COLS}, %(v)s, %(b)s FROM tw_stage "
        "ON CONFLICT DO NOTHING",
        {**_key(key), "v": vendor_id, "b": batch_id},
    )
    return int(res.rowcount)


def overwrite_staged(conn: Connection, key: BarKey, vendor_id: int, batch_id: int) -> int:
    sets = ", ".join(f"{c} = s.{c}" for c in VALUE_FIELDS)
    res = conn.exec_driver_sql(
        f"UPDATE bars b SET {sets}, vendor_id = %(v)s, batch_id = %(b)s FROM tw_stage s "
        "WHERE b.instrument_id = %(i)s AND b.timeframe = %(tf)s AND b.side = %(sd)s "
        f"AND b.ts = s.ts AND (s.{_COLS.replace(', ', ', s.')}) IS DISTINCT FROM "
        f"(b.{_COLS.replace(', ', ', b.')})",
        {**_key(key), "v": vendor_id, "b": batch_id},
    )
    return int(res.rowcount)


def drop_stage(conn: Connection) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS tw_stage")


def read_range(
    conn: Connection, key: BarKey, start: datetime | None, end: datetime | None
) -> dict[str, npt.NDArray]:
    where = [
        sql.SQL("instrument_id = {}").format(sql.Literal(key.instrument_id)),
        sql.SQL("timeframe = {}").format(sql.Literal(key.timeframe.value)),
        sql.SQL("side = {}").format(sql.Literal(key.side.value)),
    ]
    if start is not None:
        where.append(sql.SQL("ts >= {}").format(sql.Literal(start)))
    if end is not None:
        where.append(sql.SQL("ts < {}").format(sql.Literal(end)))
    query = sql.SQL(
        "COPY (SELECT ts, open, high, low, close, volume FROM bars WHERE {} ORDER BY ts) "
        "TO STDOUT (FORMAT binary)"
    ).format(sql.SQL(" AND ").join(where))
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(query) as cp:  # type: ignore[union-attr]
        cols = pgcopy.decode(_READ_FIELDS, iter(cp))
    return cols
