"""instrument details: tick size and trading calendar of every instrument

Revision ID: 0008_instrument_details
Revises: 0007_reporting_views
Create Date: 2026-12-07 11:30:00.000000

Existing rows get the values their reference data implies: a tick of one unit of display
precision, the FX calendar for FX, metals and CFDs, the crypto calendar for crypto.

SQLite changes a column's nullability by copying the table, which its rename step refuses
while views read the table: the reporting views (version 1, from 0007) are dropped for the
copy and created again, unchanged.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from tradewind.storage.reporting import create_views, drop_views

revision: str = "0008_instrument_details"
down_revision: str | None = "0007_reporting_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPORTING_VERSION = 1  # the views 0007 created


def upgrade() -> None:
    op.add_column("instruments", sa.Column("tick_size", sa.Float(), nullable=True))
    op.add_column(
        "instruments",
        sa.Column("calendar", sa.String(16), nullable=False, server_default="fx"),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, display_precision FROM instruments")).all()
    for row_id, precision in rows:
        bind.execute(
            sa.text("UPDATE instruments SET tick_size = :t WHERE id = :i"),
            {"t": 10.0 ** -int(precision), "i": row_id},
        )
    bind.execute(sa.text("UPDATE instruments SET calendar = 'crypto' WHERE asset_class = 'crypto'"))
    with _views_set_aside(), op.batch_alter_table("instruments") as batch:
        batch.alter_column("tick_size", existing_type=sa.Float(), nullable=False)
        batch.alter_column("calendar", existing_type=sa.String(16), server_default=None)


def downgrade() -> None:
    with _views_set_aside(), op.batch_alter_table("instruments") as batch:
        batch.drop_column("calendar")
        batch.drop_column("tick_size")


@contextmanager
def _views_set_aside() -> Iterator[None]:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    drop_views(bind, REPORTING_VERSION)
    yield
    create_views(bind, REPORTING_VERSION)
