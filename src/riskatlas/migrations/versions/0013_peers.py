"""peers: the nodes `riskatlas sync` pulls from over TAXII, with their cursors

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 06:05:00

No read-generation triggers (riskatlas.generation.UNRELATED): no reused answer reads peers, and
each sync moves the cursors.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "peers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("cursors", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                    "postgresql"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peers")),
        sa.UniqueConstraint("name", name=op.f("uq_peers_name")),
    )


def downgrade() -> None:
    op.drop_table("peers")
