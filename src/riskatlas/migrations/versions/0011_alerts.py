"""alerts: the detections of early warning, with their analysts' status

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 02:00:00

One row per cell (indicator, country, admin1, period start) and audience tier; shared records
read through the sharing policy (owner organisation and TLP of the data they were computed
from). No read-generation triggers (riskatlas.generation.UNRELATED): no reused answer reads
them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cell", sa.String(length=260), nullable=False),
        sa.Column("tier", sa.String(length=40), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("admin1", sa.String(length=120), nullable=True),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("observed", sa.Float(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("detector", sa.String(length=32), nullable=False),
        sa.Column("risks", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                  "postgresql"), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_by", sa.String(length=120), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('new', 'acknowledged', 'dismissed', 'escalated')",
                           name=op.f("ck_alerts_status")),
        sa.CheckConstraint("severity BETWEEN 1 AND 4", name=op.f("ck_alerts_severity")),
        sa.CheckConstraint("tlp IN ('clear', 'green', 'amber', 'amber+strict')",
                           name=op.f("ck_alerts_tlp")),
        sa.ForeignKeyConstraint(["owner_org_id"], ["organisations.id"],
                                name=op.f("fk_alerts_owner_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("cell", "tier", name="uq_alerts_cell_tier"),
    )
    op.create_index("ix_alerts_period", "alerts", ["period_start"])
    op.create_index("ix_alerts_tlp_owner", "alerts", ["tlp", "owner_org_id"])
    op.create_index("ix_alerts_cell_rank", "alerts", ["cell", "rank"])


def downgrade() -> None:
    op.drop_index("ix_alerts_cell_rank", table_name="alerts")
    op.drop_index("ix_alerts_tlp_owner", table_name="alerts")
    op.drop_index("ix_alerts_period", table_name="alerts")
    op.drop_table("alerts")
