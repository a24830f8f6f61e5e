"""read generation: a row that triggers move on every change of a table reads depend on

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00

Reused API answers (web.cache) and API token look-ups are keyed by `read_generation.n`. Triggers
on every table that an answer or a caller's principal depends on move it, whoever writes
(riskatlas.generation explains the choice per database). Not on the audit trail, browser
sessions, login attempts, nor on an API token's last-used time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table of the schema at this revision except riskatlas.generation.UNRELATED (a test
# compares the two with the models, so a table added later needs its own triggers).
TABLES = ("actors", "api_tokens", "assessments", "groupings", "measure_states", "measures",
          "organisations", "record_shares", "risk_actors", "risk_measures", "risk_states",
          "risks", "search_documents", "sharing_group_members", "sharing_groups", "sources",
          "states", "users", "versions")
# api_tokens: every column but last_used_at, which moves as the token is used.
TOKEN_COLUMNS = "id, user_id, token_hash, prefix, scope, name, created_at, expires_at, revoked_at"
BUMP = ("INSERT INTO read_generation (id, n) VALUES (1, 1) "
        "ON CONFLICT (id) DO UPDATE SET n = read_generation.n + 1")

PG_FUNCTION = f"""
CREATE FUNCTION read_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Once per transaction: the deferred triggers of its other changes find the mark.
    IF current_setting('riskatlas.read_generation_moved', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('riskatlas.read_generation_moved', 'on', true);
        {BUMP};
    END IF;
    RETURN NULL;
END $$
"""


def _update_of(table: str) -> str:
    return f"UPDATE OF {TOKEN_COLUMNS}" if table == "api_tokens" else "UPDATE"


def upgrade() -> None:
    op.create_table(
        "read_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_read_generation")),
    )
    op.execute("INSERT INTO read_generation (id, n) VALUES (1, 1)")
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        for table in TABLES:
            # Deferred to commit: the generation row is the last lock a writer takes.
            op.execute(f"CREATE CONSTRAINT TRIGGER read_generation AFTER INSERT OR DELETE OR "
                       f"{_update_of(table)} ON {table} DEFERRABLE INITIALLY DEFERRED "
                       "FOR EACH ROW EXECUTE FUNCTION read_generation_bump()")
            op.execute(f"CREATE TRIGGER read_generation_truncate AFTER TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION read_generation_bump()")
    elif dialect == "sqlite":
        for table in TABLES:
            for event, suffix in (("INSERT", "ai"), ("DELETE", "ad"),
                                  (_update_of(table), "au")):
                op.execute(f"CREATE TRIGGER read_generation_{table}_{suffix} AFTER {event} "
                           f"ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS read_generation ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS read_generation_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS read_generation_bump()")
    elif dialect == "sqlite":
        for table in TABLES:
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS read_generation_{table}_{suffix}")
    op.drop_table("read_generation")
