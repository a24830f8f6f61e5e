"""sharing scope indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 21:34:22.257428
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.create_index("ix_measures_tlp_owner", ["tlp", "owner_org_id"], unique=False)

    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.create_index("ix_risks_tlp_owner", ["tlp", "owner_org_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_index("ix_risks_tlp_owner")

    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.drop_index("ix_measures_tlp_owner")
