"""SQLite side of the bar store: batched inserts in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from tradewind.domain import BarSeries
from tradewind.domain.series import VALUE_FIELDS
from tradewind.storage.types import datetime_to_us

if TYPE_CHECKING:
    from tradewind.storage.bars import Conflict

_COLS = ", ".join(VALUE_FIELDS)
_DIFF = " OR ".join(f"s.{c} IS NOT b.{c}" for c in VALUE_FIELDS)


def _cursor(conn: Connection) -> Any:
    raw = conn.connection.driver_connection
    assert raw is not None  # a checked-out connection has its sqlite3 connection
    return raw.cursor()


def _literal(value: int | str) -> str:
    """A SQL literal for a key part or id of ours (an int, or an enum value as text)."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(int(value))


def insert_new(conn: Connection, sid: int, bars: BarSeries, batch_id: int) -> int | None:
    # SQLite takes a write lock at BEGIN IMMEDIATE, so no one can have written since the check.
    # The per-batch constants are SQL literals, so each row binds only its own 6 values.
    consts = [_literal(v) for v in (sid, batch_id)]
    rows = zip(bars.ts.tolist(), *(getattr(bars, f).tolist() for f in VALUE_FIELDS), strict=True)
    cur = _cursor(conn)
    cur.executemany(
        f"INSERT INTO bars (series_id, batch_id, ts, {_COLS}) "
        f"VALUES ({', '.join(consts)}, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    cur.close()
    return len(bars)


def stage(conn: Connection, sid: int, bars: BarSeries) -> list[Conflict]:
    from tradewind.storage.bars import conflict_rows

    cur = _cursor(conn)
    cur.execute("DROP TABLE IF EXISTS temp.tw_stage")
    cur.execute(
        "CREATE TEMP TABLE tw_stage (ts INTEGER PRIMARY KEY, line INTEGER NOT NULL, "
        "open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL, "
        "volume REAL NOT NULL)"
    )
    rows = zip(
        bars.ts.tolist(),
        bars.lines.tolist(),
        *(getattr(bars, f).tolist() for f in VALUE_FIELDS),
        strict=True,
    )
    cur.executemany(f"INSERT INTO tw_stage (ts, line, {_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    cur.execute(
        f"SELECT s.line, s.ts, s.open, s.high, s.low, s.close, s.volume, "
        f"b.open, b.high, b.low, b.close, b.volume, b.batch_id FROM tw_stage s "
        "JOIN bars b ON b.series_id = ? AND b.ts = s.ts "
        f"WHERE {_DIFF} ORDER BY s.line",
        (sid,),
    )
    found = cur.fetchall()
    cur.close()
    return conflict_rows(found)


def insert_staged(conn: Connection, sid: int, batch_id: int) -> int:
    cur = _cursor(conn)
    cur.execute(
        f"INSERT INTO bars (series_id, ts, {_COLS}, batch_id) "
        f"SELECT ?, ts, {_COLS}, ? FROM tw_stage WHERE true ON CONFLICT DO NOTHING",
        (sid, batch_id),
    )
    n = cur.rowcount
    cur.close()
    return int(n)


def overwrite_staged(conn: Connection, sid: int, batch_id: int) -> int:
    sets = ", ".join(f"{c} = s.{c}" for c in VALUE_FIELDS)
    cur = _cursor(conn)
    cur.execute(
        f"UPDATE bars AS b SET {sets}, batch_id = ? FROM tw_stage AS s "
        f"WHERE b.series_id = ? AND b.ts = s.ts AND ({_DIFF})",
        (batch_id, sid),
    )
    n = cur.rowcount
    cur.close()
    return int(n)


def drop_stage(conn: Connection) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS temp.tw_stage")


_READ_DTYPE = np.dtype([("ts", np.int64), *((f, np.float64) for f in VALUE_FIELDS)])


def read_range(
    conn: Connection, sid: int, start: datetime | None, end: datetime | None
) -> dict[str, npt.NDArray]:
    q = f"SELECT ts, {_COLS} FROM bars WHERE series_id = ?"
    params: list[Any] = [sid]
    if start is not None:
        q += " AND ts >= ?"
        params.append(datetime_to_us(start))
    if end is not None:
        q += " AND ts < ?"
        params.append(datetime_to_us(end))
    cur = _cursor(conn)
    cur.execute(q + " ORDER BY ts", params)
    arr = np.fromiter(cur, dtype=_READ_DTYPE)
    cur.close()
    return {name: arr[name] for name in _READ_DTYPE.names or ()}
