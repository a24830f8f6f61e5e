"""`riskatlas db upgrade` backs up first, and a failing revision leaves the previous schema
as it was and usable (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
from alembic.config import Config
from sqlalchemy import create_engine, inspect

from riskatlas import migrate
from riskatlas.migrate import current_revision, head_revision, upgrade

from ..conftest import audit_verified
from ..helpers import cli
from .writers import Databases

BROKEN = '''"""broken on purpose"""
import sqlalchemy as sa
from alembic import op

revision = "0999"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("broken_table", sa.Column("id", sa.Integer, primary_key=True))
    with op.batch_alter_table("risks") as batch:
        batch.add_column(sa.Column("broken_column", sa.Integer))
    op.execute("UPDATE organisations SET key = 'BROKEN-' || key")
    op.execute("INSERT INTO no_such_table VALUES (1)")


def downgrade() -> None:
    pass
'''


@pytest.fixture
def broken_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], str]:
    """From the call on, the migrations are a copy with one more revision, 0999, that fails
    half-way."""
    return lambda: _inject(tmp_path, monkeypatch)


def _inject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    copy = tmp_path / "migrations"
    shutil.copytree(Path(str(resources.files("riskatlas") / "migrations")), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "versions" / "0999_broken.py").write_text(BROKEN.format(down=head_revision()))
    real = migrate.alembic_config

    def config(url: str) -> Config:
        cfg = real(url)
        cfg.set_main_option("script_location", str(copy))
        return cfg

    monkeypatch.setattr(migrate, "alembic_config", config)
    return "0999"


def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {c["name"] for c in inspect(conn).get_columns(table)}
    finally:
        engine.dispose()


def test_upgrade_takes_a_backup_first(fresh: Databases, tmp_path: Path,
                                      setenv: Callable[[str, str], None]) -> None:
    url = fresh.new()
    upgrade(url, "0012")
    setenv("RISKATLAS_BACKUP_DIR", str(tmp_path / "saved"))
    result = cli("db", "upgrade", "--db", url)
    assert result.exit_code == 0, result.output
    assert current_revision(url) == head_revision()
    [taken] = (tmp_path / "saved").iterdir()
    assert f"Backup taken: {taken}" in result.output
    manifest = json.loads((taken / "manifest.json").read_text())
    assert manifest["schema_revision"] == "0012"
    again = cli("db", "upgrade", "--db", url)  # at head: nothing to do, no second backup
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert len(list((tmp_path / "saved").iterdir())) == 1


def test_no_backup_is_said_loudly(fresh: Databases, tmp_path: Path,
                                  setenv: Callable[[str, str], None]) -> None:
    url = fresh.new()
    upgrade(url, "0012")
    setenv("RISKATLAS_BACKUP_DIR", str(tmp_path / "saved"))
    result = cli("db", "upgrade", "--no-backup", "--db", url)
    assert result.exit_code == 0, result.output
    assert "WITHOUT a backup" in result.output
    assert not (tmp_path / "saved").exists()


def test_failed_revision_leaves_the_previous_schema(
        db_url: str, tmp_path: Path, broken_revision: Callable[[], str],
        setenv: Callable[[str, str], None]) -> None:
    assert cli("init", "--db", db_url).exit_code == 0
    broken = broken_revision()
    before = current_revision(db_url)
    setenv("RISKATLAS_BACKUP_DIR", str(tmp_path / "saved"))
    result = cli("db", "upgrade", "--db", db_url)
    assert result.exit_code == 1
    [taken] = (tmp_path / "saved").iterdir()
    assert f"revision {broken} (broken on purpose) failed" in result.output
    assert "no_such_table" in result.output and str(taken) in result.output
    assert f"still at revision {before}" in result.output

    assert current_revision(db_url) == before
    init = cli("init", "--db", db_url)  # init migrates too: the same clear error
    assert init.exit_code == 1 and f"revision {broken} (broken on purpose)" in init.output
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert not inspect(conn).has_table("broken_table")
    finally:
        engine.dispose()
    assert "broken_column" not in _columns(db_url, "risks")
    orgs = cli("orgs", "list", "--format", "json", "--db", db_url)
    assert orgs.exit_code == 0 and "BROKEN-" not in orgs.stdout and "KAZ-SC" in orgs.stdout
    # still usable: a write goes through and the audit chain holds
    made = cli("orgs", "add", "After the failed upgrade", "--key", "KAZ-AFTER", "--state", "KAZ",
               "--db", db_url)
    assert made.exit_code == 0, made.output
    assert "KAZ-AFTER" in cli("orgs", "list", "--format", "json", "--db", db_url).stdout
    audit_verified(db_url)
