"""Map a file's columns onto bar fields: explicit names win, else common names are detected."""

from __future__ import annotations

from collections.abc import Sequence

from tradewind.config.imports import ColumnMap

FIELDS = ("time", "open", "high", "low", "close", "volume")
REQUIRED = ("time", "open", "high", "low", "close")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "time": ("time", "timestamp", "datetime", "date_time", "date", "ts", "open_time", "gmt time"),
    "open": ("open", "o", "open_price", "mid_o"),
    "high": ("high", "h", "high_price", "mid_h"),
    "low": ("low", "l", "low_price", "mid_l"),
    "close": ("close", "c", "close_price", "mid_c"),
    "volume": ("volume", "vol", "v", "tick_volume", "tickvol", "ticks"),
}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; nothing is written."""


def resolve_columns(
    available: Sequence[str], mapping: ColumnMap, source: str, volume_required: bool
) -> dict[str, str]:
    """Bar field -> file column name. Raises ImportFileError naming what is missing."""
    by_lower = {c.strip().lower(): c for c in available}
    out: dict[str, str] = {}
    for fld in FIELDS:
        explicit = getattr(mapping, fld)
        if explicit is not None:
            if explicit not in available:
                raise ImportFileError(
                    f"{source}: column {explicit!r} mapped to {fld} is not in the file "
                    f"(columns: {', '.join(available)})"
                )
            out[fld] = explicit
            continue
        for name in SYNONYMS[fld]:
            if name in by_lower:
                out[fld] = by_lower[name]
                break
    missing = [f for f in (*REQUIRED, *(("volume",) if volume_required else ())) if f not in out]
    if missing:
        raise ImportFileError(
            f"{source}: no column for {', '.join(missing)} (columns: {', '.join(available)}); "
            f"name them with --columns, e.g. --columns {missing[0]}=NAME"
        )
    return out
