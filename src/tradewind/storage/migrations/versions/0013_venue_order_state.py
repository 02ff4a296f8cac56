"""venue: what a pending order tracks that its create transaction has no field for

Revision ID: 0013_venue_order_state
Revises: 0012_oms_financing
Create Date: 2026-12-07 16:05:00.000000

One row per (account, order, key): a trailing stop loss's ``trailingStopValue`` (rewritten
each time it moves) and a market-if-touched order's ``initialMarketPrice``. Written in the
database transaction of the unit of work that set it; read back when the venue replays.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_venue_order_state"
down_revision: str | None = "0012_oms_financing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "venue_order_state",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["venue_accounts.id"],
            name=op.f("fk_venue_order_state_account_id_venue_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "order_id", "key", name=op.f("pk_venue_order_state")),
    )


def downgrade() -> None:
    op.drop_table("venue_order_state")
