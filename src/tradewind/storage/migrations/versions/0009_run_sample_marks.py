"""run marks: what a run should be read with (in-sample models, allowed contract overrides)

Revision ID: 0009_run_sample_marks
Revises: 0008_instrument_details
Create Date: 2026-12-07 11:30:00.000000

``runs.marks`` is a JSON object, NULL for runs without marks (and every run before this
revision): a backtest records in it the models it ran on data they trained or validated on
(``in_sample``) and the contract checks it was explicitly allowed to pass (``allowed``).
The reporting views (version 1) do not read it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_run_sample_marks"
down_revision: str | None = "0008_instrument_details"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (no batch copy on SQLite: the reporting views read this table)
    op.add_column("runs", sa.Column("marks", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops a column in place; a batch copy would break the views on runs
        op.execute("ALTER TABLE runs DROP COLUMN marks")
    else:
        op.drop_column("runs", "marks")
