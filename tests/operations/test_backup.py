"""A backup taken while 20 clients write, restored into a fresh database: every write
committed before the backup began is there, and the audit chain verifies."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ..conftest import audit_verified
from ..exchange.live import serve
from ..helpers import cli
from .writers import Databases, Writers, databases, rows, writer_token, written_keys


def test_backup_while_20_clients_write(db_url: str, tmp_path: Path, fresh: Databases) -> None:
    token = writer_token(db_url)
    folder = tmp_path / "backup"
    for base in serve(db_url):
        writers = Writers(base, token).start()
        try:
            writers.wait_for(40)
            began = time.monotonic()
            made = cli("backup", str(folder), "--db", db_url)
            after = len(writers.committed)
            writers.wait_for(after + 40)  # the clients kept writing through the backup
        finally:
            writers.stop()
    assert made.exit_code == 0, made.output
    before = writers.keys_before(began)
    assert len(before) >= 40, writers.errors[:5]
    assert writers.errors == []
    manifest = json.loads((folder / "manifest.json").read_text())

    target = fresh.new()
    restored = cli("restore", str(folder), "--db", target)
    assert restored.exit_code == 0, restored.output
    keys = written_keys(target)
    assert before <= keys, sorted(before - keys)[:10]  # nothing committed before it is lost
    assert keys <= writers.sent  # and nothing there that no client wrote
    assert len(keys) < len(writers.committed_keys)  # writes after it are not in it
    assert manifest["tables"]["risks"] == rows(target, "risks")
    audit_verified(target)

    again = cli("restore", str(folder), "--db", target)
    assert again.exit_code == 1
    assert "not empty" in again.output and "risks" in again.output

    data = next(f for f in folder.iterdir() if f.name != "manifest.json")
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    tampered = cli("restore", str(folder), "--db", fresh.new())
    assert tampered.exit_code == 1
    assert str(data) in tampered.output and "SHA-256" in tampered.output


def test_backup_refuses_to_overwrite(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    assert cli("backup", str(folder), "--db", db_url).exit_code == 0
    again = cli("backup", str(folder), "--db", db_url)
    assert again.exit_code == 1 and "already exists" in again.output
    assert cli("backup", str(folder), "--force", "--db", db_url).exit_code == 0
    other = tmp_path / "not-a-backup"
    other.mkdir()
    (other / "keep.txt").write_text("precious")
    refused = cli("backup", str(other), "--force", "--db", db_url)
    assert refused.exit_code == 1 and (other / "keep.txt").exists()


@pytest.mark.parametrize("name", ["backup.tar.gz", "backup.tar"])
def test_archive_round_trip(db_url: str, tmp_path: Path, fresh: Databases, name: str) -> None:
    assert cli("init", "--db", db_url).exit_code == 0
    archive = tmp_path / name
    made = cli("backup", str(archive), "--db", db_url)
    assert made.exit_code == 0, made.output
    assert archive.is_file()
    target = fresh.new()
    restored = cli("restore", str(archive), "--db", target)
    assert restored.exit_code == 0, restored.output
    assert cli("export", "--format", "json", "--db", target).stdout == cli(
        "export", "--format", "json", "--db", db_url).stdout


def test_restore_refuses_another_engine(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    assert cli("backup", str(folder), "--db", db_url).exit_code == 0
    for other in databases("postgresql" if db_url.startswith("sqlite") else "sqlite", tmp_path):
        refused = cli("restore", str(folder), "--db", other.new())
        assert refused.exit_code == 1 and "can only be restored into" in refused.output
