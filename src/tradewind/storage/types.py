"""Column types that behave the same on Postgres and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC instant: ``timestamptz`` on Postgres, integer epoch microseconds on SQLite.

    Python values are timezone-aware ``datetime`` in UTC both ways; naive values are refused
    rather than guessed. Microseconds match Postgres's own resolution, and integers keep SQLite
    range scans and bulk reads fast (no text parsing).
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Tradewind stores UTC instants only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            delta = value - EPOCH
            return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return datetime.fromtimestamp(0, UTC) + _micros(int(value))
        return value.astimezone(UTC)


def _micros(n: int) -> Any:
    from datetime import timedelta

    return timedelta(microseconds=n)
