"""The errors of governance: a refused step, and a proposal or meeting not found (the
catalog's NotFound, so a door answers 404 for both alike)."""

from __future__ import annotations

from riskatlas.catalog.queries import NotFound


class GovernanceError(ValueError):
    """A step the service refuses, with the reason."""


__all__ = ["GovernanceError", "NotFound"]
