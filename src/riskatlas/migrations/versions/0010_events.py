"""events: the normalised event table of early warning (ACLED, UCDP GED, GDELT, field reports)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 00:00:00

One row per event or weekly aggregate, unique by (source, source_id) so that an import can be
repeated. Events are shared records (owner organisation and TLP, read through the sharing
policy). They get no read-generation triggers (riskatlas.generation.UNRELATED): no reused
answer reads them, and on SQLite a row trigger would add a write to every imported row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("admin1", sa.String(length=120), nullable=True),
        sa.Column("location", sa.String(length=255), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("sub_type", sa.String(length=80), nullable=True),
        sa.Column("actor1", sa.Text(), nullable=True),
        sa.Column("actor2", sa.Text(), nullable=True),
        sa.Column("fatalities", sa.Integer(), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("extra", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                  "postgresql"), nullable=True),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('acled', 'acled-weekly', 'ucdp-ged', 'gdelt', 'report')",
                           name=op.f("ck_events_source")),
        sa.CheckConstraint("period IN ('day', 'week')", name=op.f("ck_events_period")),
        sa.CheckConstraint("tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')",
                           name=op.f("ck_events_tlp")),
        sa.CheckConstraint("events >= 1", name=op.f("ck_events_events")),
        sa.ForeignKeyConstraint(["owner_org_id"], ["organisations.id"],
                                name=op.f("fk_events_owner_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("source", "source_id", name="uq_events_source_source_id"),
    )
    op.create_index("ix_events_series", "events", ["country", "admin1", "event_type", "date"])
    op.create_index("ix_events_source_date", "events", ["source", "date"])
    op.create_index("ix_events_date", "events", ["date"])
    op.create_index("ix_events_tlp_owner", "events", ["tlp", "owner_org_id"])


def downgrade() -> None:
    op.drop_index("ix_events_tlp_owner", table_name="events")
    op.drop_index("ix_events_date", table_name="events")
    op.drop_index("ix_events_source_date", table_name="events")
    op.drop_index("ix_events_series", table_name="events")
    op.drop_table("events")
