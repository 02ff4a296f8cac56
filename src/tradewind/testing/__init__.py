"""Helpers for Tradewind's own tests: real database servers and per-test databases."""

from tradewind.testing.postgres import (
    ENV_URL,
    PostgresNotFoundError,
    ThrowawayPostgres,
    ThrowawayPostgresError,
    drop_database,
    find_pg_bin,
    fresh_database,
    postgres_server_url,
)

__all__ = [
    "ENV_URL",
    "PostgresNotFoundError",
    "ThrowawayPostgres",
    "ThrowawayPostgresError",
    "drop_database",
    "find_pg_bin",
    "fresh_database",
    "postgres_server_url",
]
