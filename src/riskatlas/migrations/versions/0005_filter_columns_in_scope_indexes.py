"""filter columns in the scope indexes: filtered lists and counts without reading rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 23:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RISK_FILTERS = ["level", "status", "category"]


def upgrade() -> None:
    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_index("ix_risks_key_scope")
        batch_op.drop_index("ix_risks_domain_scope")
        batch_op.create_index("ix_risks_key_scope",
                              ["key", "tlp", "owner_org_id", "domain", *RISK_FILTERS])
        batch_op.create_index("ix_risks_domain_scope",
                              ["domain", "key", "tlp", "owner_org_id", *RISK_FILTERS])

    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.drop_index("ix_measures_key_scope")
        batch_op.create_index("ix_measures_key_scope",
                              ["key", "tlp", "owner_org_id", "status", "kind"])


def downgrade() -> None:
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.drop_index("ix_measures_key_scope")
        batch_op.create_index("ix_measures_key_scope", ["key", "tlp", "owner_org_id"])

    with op.batch_alter_table("risks", schema=None) as batch_op:
        batch_op.drop_index("ix_risks_domain_scope")
        batch_op.drop_index("ix_risks_key_scope")
        batch_op.create_index("ix_risks_key_scope", ["key", "tlp", "owner_org_id"])
        batch_op.create_index("ix_risks_domain_scope",
                              ["domain", "key", "tlp", "owner_org_id"])
