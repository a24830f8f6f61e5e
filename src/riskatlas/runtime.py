"""What a command or a request needs: settings, the engine and the active risk matrix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from riskatlas.catalog.matrix import Matrix, load_matrix
from riskatlas.config import Settings, get_settings
from riskatlas.db import get_engine, session_factory, transaction


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return get_engine(self.settings.database_url)

    @cached_property
    def matrix(self) -> Matrix:
        return load_matrix(self.settings.matrix)

    @cached_property
    def inline_reads(self) -> bool:
        """Whether short reads run on the server's event loop (see web.deps.run_db)."""
        return self.engine.dialect.name == "sqlite"

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions on this runtime's engine (one factory, made once)."""
        return session_factory(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.engine) as session:
            yield session


def make_runtime(db: str | None = None) -> Runtime:
    settings = get_settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    return Runtime(settings)
