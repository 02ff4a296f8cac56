"""Checks for what the schema does not enforce itself (``bars`` has no foreign keys)."""

from __future__ import annotations

from sqlalchemy import Connection, text

_ORPHANS = {
    "instrument": "SELECT count(*) FROM bars b WHERE NOT EXISTS "
    "(SELECT 1 FROM instruments i WHERE i.id = b.instrument_id)",
    "vendor": "SELECT count(*) FROM bars b WHERE NOT EXISTS "
    "(SELECT 1 FROM data_vendors v WHERE v.id = b.vendor_id)",
    "batch": "SELECT count(*) FROM bars b WHERE NOT EXISTS "
    "(SELECT 1 FROM ingest_batches g WHERE g.id = b.batch_id)",
}


def orphan_bars(conn: Connection) -> dict[str, int]:
    """Bars whose instrument, vendor or batch row is missing, by kind; all zeros when sound."""
    return {kind: int(conn.execute(text(q)).scalar_one()) for kind, q in _ORPHANS.items()}
