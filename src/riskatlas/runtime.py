"""What a command or a request needs: settings, the engine and sessions.

The runtime sits below every domain package (docs/layers.md) and holds none of their objects:
catalog code loads the risk matrix (catalog.matrix.active_matrix), and the full sharing scope
belongs to the command line's operator alone (riskatlas.cli_options).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from riskatlas.config import Settings, get_settings
from riskatlas.db import get_engine, session_factory, transaction


@dataclass
class Runtime:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return get_engine(self.settings.database_url)

    @cached_property
    def inline_reads(self) -> bool:
        """Whether short reads run on the server's event loop (see web.deps.run_db): the
        setting, or else only for SQLite, a library call that never waits on a network. On
        PostgreSQL, even on this host, inline reads cost less CPU in process (5.6 -> 5.2 ms a
        request) but under load they held up each worker's loop: 59 req/s and think-time p99
        459/648/318 ms against 73 req/s and 256/229/147 ms in the thread pool (api_load.py,
        same machine, same hour; benchmarks/README.md)."""
        if self.settings.inline_reads is not None:
            return self.settings.inline_reads
        return self.engine.url.get_backend_name() == "sqlite"

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
