"""governance: proposals, positions, comments, reservations, meetings and their agendas

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 09:11:32

Read-generation triggers on every table (as migration 0008 made them): reservations are shown
next to the records they qualify, and the proposals and meetings are few and rarely written,
so moving the generation with them costs nothing and keeps any future reused answer that reads
them fresh.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("meetings", "proposals", "meeting_items", "positions", "proposal_comments",
          "reservations")
BUMP = ("INSERT INTO read_generation (id, n) VALUES (1, 1) "
        "ON CONFLICT (id) DO UPDATE SET n = read_generation.n + 1")


def upgrade() -> None:
    op.create_table('meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grouping_code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('participants', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('summit', 'ministerial', 'expert')", name=op.f('ck_meetings_kind')),
    sa.ForeignKeyConstraint(['grouping_code'], ['groupings.code'], name=op.f('fk_meetings_grouping_code_groupings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings'))
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index('ix_meetings_grouping_date', ['grouping_code', 'date'], unique=False)

    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grouping_code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('entity', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('changes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('proposer_org_id', sa.Integer(), nullable=True),
    sa.Column('proposed_by', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_version', sa.Integer(), nullable=True),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.Column('owner_org_id', sa.Integer(), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.CheckConstraint("entity IN ('risks', 'measures')", name=op.f('ck_proposals_entity')),
    sa.CheckConstraint("kind IN ('create', 'change', 'retire')", name=op.f('ck_proposals_kind')),
    sa.CheckConstraint("status IN ('open', 'adopted', 'rejected', 'withdrawn')", name=op.f('ck_proposals_status')),
    sa.CheckConstraint("tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')", name=op.f('ck_proposals_tlp')),
    sa.ForeignKeyConstraint(['grouping_code'], ['groupings.code'], name=op.f('fk_proposals_grouping_code_groupings')),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisations.id'], name=op.f('fk_proposals_owner_org_id_organisations')),
    sa.ForeignKeyConstraint(['proposer_org_id'], ['organisations.id'], name=op.f('fk_proposals_proposer_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals'))
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index('ix_proposals_status', ['status'], unique=False)
        batch_op.create_index('ix_proposals_target', ['entity', 'key'], unique=False)

    op.create_table('meeting_items',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_items_meeting_id_meetings')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_meeting_items_proposal_id_proposals')),
    sa.PrimaryKeyConstraint('meeting_id', 'proposal_id', name=op.f('pk_meeting_items'))
    )
    with op.batch_alter_table('meeting_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_items_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('state_code', sa.String(length=3), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('stance', sa.String(length=8), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("stance IN ('endorse', 'object', 'abstain', 'reserve')", name=op.f('ck_positions_stance')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_positions_org_id_organisations')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_positions_proposal_id_proposals')),
    sa.ForeignKeyConstraint(['state_code'], ['states.code'], name=op.f('fk_positions_state_code_states')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_positions'))
    )
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.create_index('ix_positions_proposal', ['proposal_id', 'state_code', 'recorded_at'], unique=False)

    op.create_table('proposal_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_proposal_comments_org_id_organisations')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_comments_proposal_id_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_comments'))
    )
    with op.batch_alter_table('proposal_comments', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_comments_proposal', ['proposal_id', 'at'], unique=False)

    op.create_table('reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state_code', sa.String(length=3), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_reservations_proposal_id_proposals')),
    sa.ForeignKeyConstraint(['state_code'], ['states.code'], name=op.f('fk_reservations_state_code_states')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reservations_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index('ix_reservations_record', ['entity', 'key', 'version'], unique=False)
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "postgresql":  # the function read_generation_bump() is 0008's
            op.execute(f"CREATE CONSTRAINT TRIGGER read_generation AFTER INSERT OR DELETE OR "
                       f"UPDATE ON {table} DEFERRABLE INITIALLY DEFERRED "
                       "FOR EACH ROW EXECUTE FUNCTION read_generation_bump()")
            op.execute(f"CREATE TRIGGER read_generation_truncate AFTER TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION read_generation_bump()")
        elif dialect == "sqlite":
            for event, suffix in (("INSERT", "ai"), ("DELETE", "ad"), ("UPDATE", "au")):
                op.execute(f"CREATE TRIGGER read_generation_{table}_{suffix} AFTER {event} "
                           f"ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    for table in reversed(TABLES):  # dropping a table drops its triggers
        op.drop_table(table)
