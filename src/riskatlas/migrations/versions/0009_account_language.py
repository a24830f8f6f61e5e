"""account language: the page language a user chose on the account page

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 20:00:00

`users.language` holds a language code (`ru`, `kk`, ...) or NULL for "no choice": the pages then
follow the browser's Accept-Language. `?lang=` still wins over it (web.i18n.choose). The column
is on `users`, whose read-generation triggers (0008) already fire on any update: a change of
language moves the generation, which costs a cache refill and nothing else.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN works on SQLite without a table rebuild, so the 0008 triggers stay in place.
    op.add_column("users", sa.Column("language", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), not a batch rebuild, which would lose the triggers.
    op.drop_column("users", "language")
