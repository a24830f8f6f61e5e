"""`riskatlas meetings brief`: a meeting's briefing pack as HTML or PDF."""

from __future__ import annotations

from riskatlas.cli_options import fail


def brief() -> None:
    """Write a meeting's briefing pack (being built: issue 13)."""
    fail("briefing packs are not built yet")
