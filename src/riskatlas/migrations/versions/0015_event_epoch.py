"""event epoch: a number that moves when events are deleted or edited in place

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 16:40:00

The early-warning engine keeps a columnar copy of the events (riskatlas.warning.store). It
brings the copy up to date from the rows with a larger id or a later import time, which is how
imports and field reports write. What that rule cannot see moves `event_epoch.n`, by trigger,
whoever writes: a DELETE or TRUNCATE of events, and an UPDATE that leaves `imported_at` as it
was. The copy is then built again. `token` names the database the copy belongs to.

Not on INSERT, nor on an import's rewrite (which sets a new `imported_at`): SQLite has row
triggers only, and an import writes millions of rows. No read-generation triggers
(riskatlas.generation.UNRELATED): no reused answer reads it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOKEN = {"sqlite": "lower(hex(randomblob(16)))",
          "postgresql": "md5(random()::text || clock_timestamp()::text)"}


def bump(dialect: str) -> str:
    """The statement that moves the epoch (and makes the row again after a TRUNCATE)."""
    return (f"INSERT INTO event_epoch (id, n, token) VALUES (1, 1, {_TOKEN[dialect]}) "
            "ON CONFLICT (id) DO UPDATE SET n = event_epoch.n + 1")


def upgrade() -> None:
    op.create_table(
        "event_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_epoch")),
    )
    dialect = op.get_bind().dialect.name
    op.execute(f"INSERT INTO event_epoch (id, n, token) VALUES (1, 0, {_TOKEN[dialect]})")
    if dialect == "postgresql":
        op.execute(f"""
            CREATE FUNCTION event_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {bump(dialect)};
                RETURN NULL;
            END $$""")
        op.execute("CREATE TRIGGER event_epoch_delete AFTER DELETE ON events "
                   "FOR EACH STATEMENT EXECUTE FUNCTION event_epoch_bump()")
        op.execute("CREATE TRIGGER event_epoch_truncate AFTER TRUNCATE ON events "
                   "FOR EACH STATEMENT EXECUTE FUNCTION event_epoch_bump()")
        # a row trigger, for its WHEN: the condition is tested in C, the function called only
        # for an in-place edit (never for an import's rewrite)
        op.execute("CREATE TRIGGER event_epoch_update AFTER UPDATE ON events FOR EACH ROW "
                   "WHEN (NEW.imported_at IS NOT DISTINCT FROM OLD.imported_at) "
                   "EXECUTE FUNCTION event_epoch_bump()")
    else:
        op.execute("CREATE TRIGGER event_epoch_delete AFTER DELETE ON events "
                   f"BEGIN {bump(dialect)}; END")
        op.execute("CREATE TRIGGER event_epoch_update AFTER UPDATE ON events "
                   f"WHEN NEW.imported_at IS OLD.imported_at BEGIN {bump(dialect)}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("event_epoch_delete", "event_epoch_truncate", "event_epoch_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON events")
        op.execute("DROP FUNCTION IF EXISTS event_epoch_bump()")
    else:
        op.execute("DROP TRIGGER IF EXISTS event_epoch_delete")
        op.execute("DROP TRIGGER IF EXISTS event_epoch_update")
    op.drop_table("event_epoch")
