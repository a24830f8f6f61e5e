"""warning marks: what `warning run --changed` last saw, and an index to find newer events

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 06:00:00

One row per set of indicators (a digest of them and the alerts' owner): the newest event id and
import time seen by the last incremental run. The index on events.imported_at lets that run find
the rows an import rewrote since without reading the whole table. No read-generation triggers
(riskatlas.generation.UNRELATED): no reused answer reads the marks.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warning_marks",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("imported_at", sa.String(length=40), nullable=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_warning_marks")),
    )
    op.create_index("ix_events_imported_at", "events", ["imported_at"])


def downgrade() -> None:
    op.drop_index("ix_events_imported_at", table_name="events")
    op.drop_table("warning_marks")
