"""Map a file's columns onto bar fields: explicit names win, else common names are detected.

A column is named by its header text or by its position, ``#N`` (1-based): the only way to
name a column whose header is empty (the unnamed first time column of many CSV exports) or
shared with another column. Such columns are read under the name ``#N``.
"""

from __future__ import annotations

import re
from collections import Counter
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

_POSITION = re.compile(r"^#(\d+)$")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported; nothing is written."""


def unique_names(header: Sequence[str]) -> list[str]:
    """The name each column is read under: its header, or ``#N`` when the header is empty
    or not unique."""
    counts = Counter(h.strip() for h in header)
    return [h if h.strip() and counts[h.strip()] == 1 else f"#{i}" for i, h in enumerate(header, 1)]


def describe(header: Sequence[str]) -> str:
    """The columns as a user can name them in ``--columns``."""
    names = unique_names(header)
    return ", ".join(
        n if n == h else f"{n} (unnamed)" if not h.strip() else f"{n} ({h!r})"
        for n, h in zip(names, header, strict=True)
    )


def _cli_value(name: str, position: int) -> str:
    """How to write a column inside a single-quoted ``--columns`` value: its name, or ``#N``
    when the name holds what the option cannot carry (``,``, ``=``, a quote, edge spaces)."""
    plain = name == name.strip() and not set(name) & {",", "=", "'"}
    return name if plain else f"#{position}"


def _guess(field: str, header: Sequence[str], names: Sequence[str], taken: set[str]) -> str | None:
    """A column that plausibly holds ``field``: for time, the first unnamed column (or the
    first column); else one whose header contains the field's name."""
    free = [(n, h) for n, h in zip(names, header, strict=True) if n not in taken]
    if field == "time":
        unnamed = [n for n, h in free if not h.strip()]
        if unnamed:
            return unnamed[0]
        return free[0][0] if free and free[0][0] == names[0] else None
    for n, h in free:
        if field in h.strip().lower():
            return n
    return None


def resolve_columns(
    available: Sequence[str], mapping: ColumnMap, source: str, volume_required: bool
) -> dict[str, str]:
    """Bar field -> the name the column is read under (see ``unique_names``). Raises
    ImportFileError naming what is missing and a ``--columns`` value to try."""
    names = unique_names(available)
    by_lower: dict[str, str] = {}
    for n, h in zip(names, available, strict=True):
        if n == h:
            by_lower.setdefault(h.strip().lower(), n)
    out: dict[str, str] = {}
    for fld in FIELDS:
        explicit = getattr(mapping, fld)
        if explicit is not None:
            out[fld] = _explicit(explicit, fld, available, names, source)
            continue
        for name in SYNONYMS[fld]:
            if name in by_lower:
                out[fld] = by_lower[name]
                break
    missing = [f for f in (*REQUIRED, *(("volume",) if volume_required else ())) if f not in out]
    if missing:
        taken = set(out.values())
        hints = []
        for f in missing:
            guess = _guess(f, available, names, taken)
            if guess is not None:
                taken.add(guess)
                hints.append(f"{f}={_cli_value(guess, names.index(guess) + 1)}")
        them = "it" if len(missing) == 1 else "them"
        hint = (
            f"map {them} with --columns, e.g. --columns '{','.join(hints)}'"
            if len(hints) == len(missing)
            else "map each with --columns FIELD=COLUMN, a COLUMN by its name or as #N (1-based)"
        )
        raise ImportFileError(
            f"{source}: no column for {', '.join(missing)} (columns: {describe(available)}); "
            + hint
        )
    return out


def _explicit(
    explicit: str, fld: str, available: Sequence[str], names: Sequence[str], source: str
) -> str:
    pos = _POSITION.match(explicit.strip())
    if pos:
        i = int(pos.group(1))
        if not 1 <= i <= len(names):
            raise ImportFileError(
                f"{source}: column {explicit!r} mapped to {fld} is out of range: the file has "
                f"{len(names)} columns ({describe(available)})"
            )
        return names[i - 1]
    if explicit in names:
        return explicit
    stripped = [n for n, h in zip(names, available, strict=True) if h.strip() == explicit.strip()]
    if len(stripped) == 1:
        return stripped[0]
    raise ImportFileError(
        f"{source}: column {explicit!r} mapped to {fld} is not in the file "
        f"(columns: {describe(available)}); name a column by its header or as #N (1-based)"
    )
