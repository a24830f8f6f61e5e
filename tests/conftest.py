"""Fixtures: every test gets an empty, migrated, seeded database on SQLite and on PostgreSQL.

PostgreSQL tests run against RISKATLAS_TEST_POSTGRES_URL (default: the local server this machine
kind starts). Without a server they are skipped with the reason shown; with CI=true they fail.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from riskatlas.config import Settings
from riskatlas.db import get_engine
from riskatlas.migrate import upgrade
from riskatlas.parties.service import seed
from riskatlas.runtime import Runtime
from riskatlas.web.app import settle_warmers

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PG_URL = os.environ.get(
    "RISKATLAS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# early warning's columnar copy of PostgreSQL databases goes to the user's cache folder by
# default: the tests' copies go to a folder of their own (removed with the system's temp files)
os.environ.setdefault("RISKATLAS_EVENT_COLUMNS",
                      tempfile.mkdtemp(prefix="riskatlas-test-columns-"))


def _postgres_database() -> str | None:
    """Create a throwaway database for this run; None (or a CI failure) when unreachable."""
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        name = f"riskatlas_test_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # any connection problem means "no server here"
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_URL}: {exc}")
        return None
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = _postgres_database()
    if url is None:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} (set RISKATLAS_TEST_POSTGRES_URL)")
    upgrade(url)
    yield url
    # Apps dropped without their shutdown keep a connection for the read generation until
    # they are collected (generation.Generation closes it then): collect them first.
    gc.collect()
    get_engine(url).dispose()
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    # An app of an earlier test may still be building reused parts (its warming thread): that
    # read and TRUNCATE take their locks in different orders and deadlock.
    settle_warmers()
    engine = get_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' "
            "AND tablename <> 'alembic_version'")).scalars().all()
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                              + " RESTART IDENTITY CASCADE"))


def audit_verified(url: str) -> None:
    """`riskatlas audit verify` on the database: its chain holds, or the test fails."""
    from typer.testing import CliRunner

    from riskatlas.cli import app

    result = CliRunner().invoke(app, ["audit", "verify", "--db", url])
    assert result.exit_code == 0, f"audit verify failed on {url}: {result.output}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
           ) -> Iterator[str]:
    """URL of an empty, migrated database holding the default grouping, states and orgs.

    A test marked `audited` also has the database's audit chain verified after it ran.
    """
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        _truncate_postgres(url)
    rt = Runtime(Settings(database_url=url))
    with rt.transaction() as session:
        seed(session)
    yield url
    if request.node.get_closest_marker("audited") is not None:
        audit_verified(url)


@pytest.fixture
def runtime(db_url: str) -> Runtime:
    return Runtime(Settings(database_url=db_url))
