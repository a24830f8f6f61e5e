"""pg_dump and pg_restore are chosen by version, and their absence is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskatlas.operations import pgtools
from riskatlas.operations.pgtools import BackupError, Version


def _fake(folder: Path, major: int, name: str = "pg_dump") -> Path:
    bin_ = folder / str(major) / "bin"
    bin_.mkdir(parents=True)
    tool = bin_ / name
    tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {major}.3 (Debian {major}.3-1)'\n")
    tool.chmod(0o755)
    return tool


@pytest.fixture
def searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(pgtools, "SEARCHED", f"{tmp_path}/*/bin")
    monkeypatch.setattr(pgtools.shutil, "which", lambda name: None)
    return tmp_path


def test_missing_tool_is_named(searched: Path) -> None:
    with pytest.raises(BackupError, match="pg_dump not found on PATH.*postgresql-client-16"):
        pgtools.find("pg_dump", Version(16, 1))


def test_older_tool_than_the_server_is_refused(searched: Path) -> None:
    _fake(searched, 13)
    with pytest.raises(BackupError, match=r"PostgreSQL 16 or newer .*\(13\.3\)"):
        pgtools.find("pg_dump", Version(16, 1))


def test_the_server_major_is_preferred(searched: Path) -> None:
    _fake(searched, 14)
    same = _fake(searched, 16)
    _fake(searched, 17)
    assert pgtools.find("pg_dump", Version(16, 1)).path == str(same)


def test_else_the_oldest_newer_one(searched: Path) -> None:
    _fake(searched, 18)
    older = _fake(searched, 17)
    assert pgtools.find("pg_dump", Version(16, 1)).version == Version(17, 3)
    assert pgtools.find("pg_dump", Version(16, 1)).path == str(older)


def test_pg_restore_at_least_the_dump_s_version(searched: Path) -> None:
    _fake(searched, 15, "pg_restore")
    with pytest.raises(BackupError, match="PostgreSQL 16 or newer"):
        pgtools.find("pg_restore", Version(15, 2), at_least=16)
