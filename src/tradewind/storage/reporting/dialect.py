"""SQL fragments that differ between Postgres and SQLite, for the reporting views.

A view definition is written once as a function of a ``Sql`` and rendered for the database at
hand. Postgres: JSON fields with ``->``/``->>`` on the ``json`` type, ``timestamptz`` as is,
the FX day with ``AT TIME ZONE``. SQLite: ``json_extract`` (guarded by ``json_valid``, so a
stray ``NaN`` token is NULL, not an error), and the stored epoch-µs integers as ISO text
``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC).

The views of a released version (``v1`` ...) are rendered by these helpers: change what one
renders and a migration's views change under it. Add a new helper (or a new ``Sql`` method)
for a new version instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"JSON key {key!r}: only identifiers are used in view definitions")
    return key


@dataclass(frozen=True)
class Sql:
    """The fragments of one dialect: ``postgresql`` or ``sqlite``."""

    dialect: str

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    def view(self, name: str) -> str:
        """The qualified name of reporting view ``name``."""
        return f"reporting.{name}" if self.postgres else f"reporting_{name}"

    def ts(self, col: str) -> str:
        """A stored instant: ``timestamptz`` (Postgres) or ISO text in UTC (SQLite)."""
        if self.postgres:
            return col
        frac = f"((({col}) % 1000000 + 1000000) % 1000000)"
        secs = f"((({col}) - {frac}) / 1000000)"
        return (
            f"(strftime('%Y-%m-%d %H:%M:%S', {secs}, 'unixepoch') || '.' || printf('%06d', {frac}))"
        )

    def num(self, col: str, *path: str) -> str:
        """A JSON number at ``path`` as a float; NULL when absent, a string ('nan', 'inf',
        '-inf' as the platform stores non-finite metrics) or not a number."""
        keys = [_key(k) for k in path]
        if self.postgres:
            node = col + "".join(f" -> '{k}'" for k in keys)
            text = f"{col} #>> '{{{','.join(keys)}}}'"
            return (
                f"CASE WHEN json_typeof({node}) = 'number' "
                f"THEN CAST({text} AS DOUBLE PRECISION) END"
            )
        return self._sqlite_num(col, "'$." + ".".join(keys) + "'")

    def num_at(self, col: str, key_expr: str) -> str:
        """A JSON number under the key ``key_expr`` (an SQL text expression) of ``col``."""
        if self.postgres:
            return (
                f"CASE WHEN json_typeof({col} -> ({key_expr})) = 'number' "
                f"THEN CAST({col} ->> ({key_expr}) AS DOUBLE PRECISION) END"
            )
        return self._sqlite_num(col, f"'$.\"' || ({key_expr}) || '\"'")

    def _sqlite_num(self, col: str, path: str) -> str:
        return (
            f"CASE WHEN json_valid({col}) AND json_type({col}, {path}) IN ('integer', 'real') "
            f"THEN CAST(json_extract({col}, {path}) AS DOUBLE PRECISION) END"
        )

    def text(self, col: str, *path: str) -> str:
        """A JSON scalar at ``path`` as text; NULL when absent."""
        keys = [_key(k) for k in path]
        if self.postgres:
            return f"({col} #>> '{{{','.join(keys)}}}')"
        where = "'$." + ".".join(keys) + "'"
        return f"CASE WHEN json_valid({col}) THEN CAST(json_extract({col}, {where}) AS TEXT) END"

    def json_text(self, col: str) -> str:
        """A JSON column as its text."""
        return f"CAST({col} AS TEXT)" if self.postgres else col

    def joined(self, col: str, key: str) -> str:
        """The strings of the JSON array ``col.key``, comma-separated, in array order."""
        k = _key(key)
        if self.postgres:
            return (
                f"(SELECT string_agg(s.v, ',' ORDER BY s.n) "
                f"FROM json_array_elements_text({col} -> '{k}') WITH ORDINALITY AS s(v, n))"
            )
        return (
            f"(SELECT group_concat(s.value, ',') FROM "
            f"(SELECT value FROM json_each({col}, '$.{k}') ORDER BY key) AS s)"
        )

    def first_part(self, col: str, sep: str) -> str:
        """``col`` up to the first ``sep`` (all of it when there is none)."""
        if self.postgres:
            return f"split_part({col}, '{sep}', 1)"
        return (
            f"CASE WHEN instr({col}, '{sep}') > 0 "
            f"THEN substr({col}, 1, instr({col}, '{sep}') - 1) ELSE {col} END"
        )

    def fx_day(self, col: str) -> str:
        """The FX day (ending 17:00 America/New_York) of instant ``col``, as a date.

        Postgres only: SQLite has no time zone rules."""
        if not self.postgres:
            raise ValueError("the FX day needs time zone rules: Postgres only")
        return f"CAST(({col} AT TIME ZONE 'America/New_York') + INTERVAL '7 hours' AS DATE)"
