"""Column types that behave the same on Postgres and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
        us = datetime_to_us(value)
        return us if dialect.name == "sqlite" else value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return us_to_datetime(int(value))
        return value.astimezone(UTC)


def us_to_datetime(us: int) -> datetime:
    """Unix epoch microseconds -> aware UTC datetime, exactly (no float rounding)."""
    return EPOCH + timedelta(microseconds=us)


def datetime_to_us(value: datetime) -> int:
    """Aware datetime -> Unix epoch microseconds, exactly."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: Tradewind stores UTC instants only")
    delta = value.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
