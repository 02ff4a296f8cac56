"""Checks for what the schema does not enforce itself (``bars`` has no foreign keys)."""

from __future__ import annotations

from sqlalchemy import Connection, text

_ORPHANS = {
    "series": "SELECT count(*) FROM bars b WHERE NOT EXISTS "
    "(SELECT 1 FROM bar_series s WHERE s.id = b.series_id)",
    "batch": "SELECT count(*) FROM bars b WHERE NOT EXISTS "
    "(SELECT 1 FROM ingest_batches g WHERE g.id = b.batch_id)",
}


def orphan_bars(conn: Connection) -> dict[str, int]:
    """Bars whose series or batch row is missing, by kind; all zeros when sound.

    (A series references its instrument and a batch its vendor by real foreign keys.)
    """
    return {kind: int(conn.execute(text(q)).scalar_one()) for kind, q in _ORPHANS.items()}
