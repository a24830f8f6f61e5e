"""event batches: the events of a large import stored as one Parquet file each

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 22:00:00

A clean ACLED file of millions of rows is stored as one columnar file (riskatlas.warning.batches)
rather than as rows of `events`: the row table and its indexes cost 7.5x DuckDB's own read of the
file, the issue's target is 3x. A batch is a shared record (owner, TLP, grants under entity
"event_batch"); `event_batch_dead` lists its events that a later import rewrote or a source
withdrew. No read-generation triggers (riskatlas.generation.UNRELATED): no reused answer reads
them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("dead", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')",
                           name=op.f("ck_event_batches_tlp")),
        sa.ForeignKeyConstraint(["owner_org_id"], ["organisations.id"],
                                name=op.f("fk_event_batches_owner_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_batches")),
        sa.UniqueConstraint("uuid", name=op.f("uq_event_batches_uuid")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # the file is compressed already: TOAST's own compression attempt doubled its write
        op.execute("ALTER TABLE event_batches ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_index("ix_event_batches_source", "event_batches", ["source"])
    op.create_index("ix_event_batches_tlp_owner", "event_batches", ["tlp", "owner_org_id"])
    op.create_table(
        "event_batch_dead",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["event_batches.id"], ondelete="CASCADE",
                                name=op.f("fk_event_batch_dead_batch_id_event_batches")),
        sa.PrimaryKeyConstraint("batch_id", "source_id", name=op.f("pk_event_batch_dead")),
    )


def downgrade() -> None:
    op.drop_table("event_batch_dead")
    op.drop_index("ix_event_batches_tlp_owner", table_name="event_batches")
    op.drop_index("ix_event_batches_source", table_name="event_batches")
    op.drop_table("event_batches")
