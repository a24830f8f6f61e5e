"""Schema migrations: Alembic, driven from Python so `riskatlas db upgrade` needs no ini file.

All the revisions of one upgrade run in one transaction, begun here before Alembic starts (so
Alembic, seeing an outer transaction, opens none of its own): a revision that fails takes the
ones before it back with it and the database stays at the revision it had. PostgreSQL has
transactional DDL. SQLite has it too, but Alembic's SQLite dialect declares it has not (and would
commit after each revision), and Python's sqlite3 module (before 3.12's autocommit attribute)
opens a transaction only before INSERT, UPDATE or DELETE, so CREATE and ALTER would each commit at
once: upgrades on SQLite run on a connection that issues BEGIN itself (SQLAlchemy's documented
pysqlite recipe).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, inspect, text

from riskatlas.db import make_engine


class MigrationFailed(Exception):
    """A revision failed; every revision of the upgrade was rolled back."""

    def __init__(self, revision: str | None, start: str | None, reason: str) -> None:
        self.revision, self.start = revision, start
        super().__init__(f"revision {revision or '?'} failed: {reason}; all changes of this "
                         f"upgrade were rolled back, the schema is still at revision "
                         f"{start or '(empty)'}")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("riskatlas") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision(url: str = "sqlite://") -> str | None:
    """The newest revision this code knows."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(url: str) -> str | None:
    """The database's revision (None: never migrated)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


class _Steps(logging.Handler):
    """Remembers the revision Alembic is running (it logs "Running upgrade A -> B, ...")."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.revision: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        step = record.args[0] if isinstance(record.args, tuple) and record.args else None
        script = getattr(step, "revision", None)  # alembic's RevisionStep: the Script it runs
        if script is not None:
            doc = getattr(script, "doc", "")
            self.revision = f"{script.revision} ({doc})" if doc else str(script.revision)


@contextmanager
def _watching() -> Iterator[_Steps]:
    logger = logging.getLogger("alembic.runtime.migration")
    steps, level = _Steps(), logger.level
    logger.addHandler(steps)
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
    try:
        yield steps
    finally:
        logger.removeHandler(steps)
        logger.setLevel(level)


def upgrade(url: str, revision: str = "head", cfg: Config | None = None) -> None:
    """Migrate to `revision` in one transaction; MigrationFailed names the failing revision."""
    cfg = cfg or alembic_config(url)
    start = current_revision(url)
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        _begin_explicitly(engine)
    try:
        with engine.connect() as conn, _watching() as steps:
            cfg.attributes["connection"] = conn
            outer = conn.begin()
            try:
                command.upgrade(cfg, revision)
                outer.commit()
            except Exception as exc:
                outer.rollback()
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                raise MigrationFailed(steps.revision, start,
                                      reason[0] if reason else type(exc).__name__) from exc
    finally:
        cfg.attributes.pop("connection", None)
        engine.dispose()


def _begin_explicitly(engine: Any) -> None:
    @event.listens_for(engine, "connect")
    def _no_implicit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver no longer begins (or commits) by itself

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")


def include_object(obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """Leave the dialect-specific full-text index (not in the ORM metadata) to migrations."""
    if type_ == "table" and name and name.startswith("search_fts"):
        return False
    return not (type_ == "index" and (name or "").startswith("ix_search_documents_tsv"))
