"""The default catalog shipped in the package, and first-start initialisation."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who
from riskatlas.catalog.importer import Batch, validate_files
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Risk
from riskatlas.catalog.service import Counts, save


def library_files() -> list[Path]:
    folder = Path(str(resources.files("riskatlas.library") / "catalog"))
    actors = folder / "actors.yaml"
    rest = sorted(p for p in folder.glob("*.yaml") if p != actors)
    return ([actors] if actors.exists() else []) + rest


def library_batch(session: Session, matrix: Matrix) -> Batch:
    return validate_files(session, matrix, library_files())


def load_default_catalog(session: Session, matrix: Matrix) -> Counts | None:
    """Import the default catalog into an empty database; leave a populated one alone."""
    if session.scalar(select(func.count()).select_from(Risk)):
        return None
    return save(session, matrix, library_batch(session, matrix), Who("library"))
