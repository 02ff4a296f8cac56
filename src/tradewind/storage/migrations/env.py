"""Alembic environment: runs on the connection or URL handed in by tradewind.storage.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tradewind.storage.engine import make_engine
from tradewind.storage.schema import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        user_module_prefix="tradewind.storage.types.",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the plain `alembic` command: the database comes from TRADEWIND_* settings
    from tradewind.config import Settings

    engine = make_engine(Settings().resolved_database_url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
