"""reporting views: schema reporting (Postgres) or reporting_* views (SQLite), version 1

Revision ID: 0007_reporting_views
Revises: 0006_platform_jobs
Create Date: 2026-12-08 10:00:00.000000

The views' SQL lives in ``tradewind.storage.reporting`` under version 1, which never changes;
a later change of the views is a new version there and a new migration.
"""

from collections.abc import Sequence

from alembic import op

from tradewind.storage.reporting import create_views, drop_views

revision: str = "0007_reporting_views"
down_revision: str | None = "0006_platform_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSION = 1


def upgrade() -> None:
    create_views(op.get_bind(), VERSION)


def downgrade() -> None:
    drop_views(op.get_bind(), VERSION)
