"""trust between states: explicit standing, link acceptance, assessment versions, measure rationale

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("standing", sa.String(length=16), nullable=True))
    # Bodies without a state were treated as regional; say so explicitly.
    op.execute("UPDATE organisations SET standing = 'regional' WHERE state_code IS NULL")

    with op.batch_alter_table("risk_measures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False,
                                      server_default="accepted"))
    # A link made by another organisation than the risk's owner was never accepted by it.
    op.execute(
        "UPDATE risk_measures SET status = 'pending' WHERE "
        "(SELECT owner_org_id FROM risks WHERE risks.id = risk_measures.risk_id) <> "
        "(SELECT owner_org_id FROM measures WHERE measures.id = risk_measures.measure_id)")

    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False,
                                      server_default="1"))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("updated_by", sa.String(length=128), nullable=True))

    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rationale", JSON, nullable=True))

    # Versions of national assessments are keyed RISK-KEY/ISO3.
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=32),
                              type_=sa.String(length=48), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.alter_column("key", existing_type=sa.String(length=48),
                              type_=sa.String(length=32), existing_nullable=False)
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.drop_column("rationale")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_column("updated_by")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("version")
    with op.batch_alter_table("risk_measures", schema=None) as batch_op:
        batch_op.drop_column("status")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("standing")
