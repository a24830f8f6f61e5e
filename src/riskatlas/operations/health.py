"""Readiness: the database answers and its schema is at the revision this code expects."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine, text

from riskatlas.migrate import head_revision
from riskatlas.operations.logs import get_logger

log = get_logger("riskatlas.health")


@cache
def code_head() -> str | None:
    """The newest migration this code ships (read from the scripts once per process)."""
    return head_revision()


def not_ready(engine: Engine) -> str | None:
    """None when ready; else why not, for the 503 answer. One short query."""
    try:
        with engine.connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:  # any failure to read means "not ready", with its kind
        message = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        log.warning("readiness.database", error=type(exc).__name__,
                    reason=message[0][:200] if message else "")
        if "alembic_version" in " ".join(message):  # reachable, never migrated
            return f"schema not migrated, code expects {code_head()}: run riskatlas db upgrade"
        # Only the kind of failure: the driver's text names hosts and ports (it is logged).
        return f"database unreachable: {type(exc).__name__}"
    head = code_head()
    if current != head:
        return f"schema at {current or '(none)'}, code expects {head}: run riskatlas db upgrade"
    return None
