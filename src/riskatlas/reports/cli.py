"""`riskatlas meetings brief`: a meeting's briefing pack as HTML or PDF."""

from __future__ import annotations

from riskatlas.cli_options import Db, fail, runtime


def brief(db: Db = None) -> None:
    """Write a meeting's briefing pack (being built: issue 13)."""
    with runtime(db).engine.connect():  # a database that cannot be used is a clear error
        pass
    fail("briefing packs are not built yet")
