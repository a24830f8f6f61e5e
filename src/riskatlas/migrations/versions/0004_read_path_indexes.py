"""read path indexes: pages and counts under the sharing scope without reading rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 22:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.create_index("ix_risks_key_scope", ["key", "tlp", "owner_org_id"], unique=False)
        batch_op.create_index("ix_risks_domain_scope", ["domain", "key", "tlp", "owner_org_id"],
                              unique=False)

    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.create_index("ix_measures_key_scope", ["key", "tlp", "owner_org_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.drop_index("ix_measures_key_scope")

    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_index("ix_risks_domain_scope")
        batch_op.drop_index("ix_risks_key_scope")
