"""The everyday baseline: pandas ``read_csv``/``read_parquet`` + ``DataFrame.to_sql``, ``read_sql``.

The table has the same columns and primary key as ``bars`` (no foreign keys: ``to_sql`` users
rarely have them). The code is what an everyday user would write: plain defaults,
``if_exists="append", index=False``, no ``chunksize``, no ``method``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    select,
)

TABLE = "bars_baseline"
_VALUES = ("open", "high", "low", "close", "volume")


def _table(metadata: MetaData) -> Table:
    return Table(
        TABLE,
        metadata,
        Column("series_id", Integer, nullable=False),
        Column("ts", DateTime(timezone=True), nullable=False),
        *(Column(c, Float, nullable=False) for c in _VALUES),
        Column("batch_id", Integer, nullable=False),
        PrimaryKeyConstraint("series_id", "ts"),
        sqlite_with_rowid=False,  # as ``bars`` is on SQLite
    )


def create_table(engine: Engine) -> None:
    metadata = MetaData()
    _table(metadata)
    metadata.create_all(engine)


def load(engine: Engine, path: Path) -> int:
    """Read the file with pandas and append it with ``to_sql``; returns the rows in the frame."""
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    else:
        df = pd.read_csv(path, parse_dates=["time"])
    df = df.drop(columns=["spread"]).rename(columns={"time": "ts"})
    df.insert(0, "series_id", 1)
    df["batch_id"] = 1
    df.to_sql(TABLE, engine, if_exists="append", index=False)
    return len(df)


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {TABLE}").scalar_one())


def read_year(engine: Engine, start: datetime, end: datetime) -> pd.DataFrame:
    """One year back with ``pandas.read_sql``, ordered by time."""
    t = _table(MetaData())
    query = (
        select(t.c.ts, *(t.c[c] for c in _VALUES))
        .where(
            t.c.series_id == 1,
            t.c.ts >= start,
            t.c.ts < end,
        )
        .order_by(t.c.ts)
    )
    with engine.connect() as conn:
        return pd.read_sql(query, conn)
