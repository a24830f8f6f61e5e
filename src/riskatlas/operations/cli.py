"""`riskatlas backup`, `riskatlas restore` and `riskatlas db upgrade`: thin commands over
operations."""

from __future__ import annotations

from riskatlas.cli_options import Db, err, runtime


def db_upgrade(db: Db = None, revision: str = "head") -> None:
    """Apply schema migrations up to REVISION (default: head)."""
    from riskatlas.migrate import upgrade

    upgrade(runtime(db).settings.database_url, revision)
    err.print("Database schema is up to date.")
