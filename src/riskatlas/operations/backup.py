"""Backups of the whole database, taken while the server runs, and their restore.

A backup is a folder (or a .tar / .tar.gz archive of one) holding the database and a manifest:
the format, engine, schema revision, Risk Atlas version, the time, the rows of every table, the
audit chain's length and last hash, and a SHA-256 of each file. Both engines take one consistent
snapshot without stopping writers:

- SQLite: the online backup API (sqlite3.Connection.backup) copies the live database, WAL
  included, in one step under one read transaction; the counts are then taken from the copy.
- PostgreSQL: one REPEATABLE READ transaction exports its snapshot; the counts are taken in it and
  `pg_dump --snapshot` dumps exactly that state (custom format, no owners).

A restore goes only into an empty database, then checks the row counts against the manifest and
verifies the audit chain, so a restored database is known to hold every record it should.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import riskatlas
from riskatlas.audit.models import AuditHead
from riskatlas.audit.service import verify
from riskatlas.config import Settings
from riskatlas.db import make_engine
from riskatlas.operations import pgtools
from riskatlas.operations.pgtools import BackupError, DatabaseUnusable

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "riskatlas.db"
POSTGRES_FILE = "riskatlas.dump"
ARCHIVES = (".tar", ".tar.gz", ".tgz")
Say = Callable[[str], None]

__all__ = ["BackupError", "DatabaseUnusable", "Restored", "backup", "read_backup", "restore",
           "upgrade_backup_path"]


def _quiet(_message: str) -> None:
    pass


def _engine_name(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in {"sqlite", "postgresql"}:
        raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")
    return name


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up or restore into")
    return Path(database)


def _is_archive(path: Path) -> bool:
    return path.name.endswith(ARCHIVES)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- what a database holds -------------------------------------------------------------------

def _tables(conn: Connection) -> list[str]:
    if conn.dialect.name == "sqlite":
        sql = ("SELECT name FROM sqlite_master WHERE type = 'table' "
               "AND name NOT LIKE 'sqlite_%' ORDER BY name")
    else:
        sql = ("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY 1")
    return list(conn.execute(text(sql)).scalars())


def _counts(conn: Connection) -> dict[str, int]:
    quote = conn.dialect.identifier_preparer.quote
    return {name: int(conn.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar() or 0)
            for name in _tables(conn)}


def _facts(conn: Connection) -> dict[str, Any]:
    """Revision, row counts and the audit head, read in the caller's transaction."""
    counts = _counts(conn)
    revision = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if "alembic_version" in counts else None)
    head = (conn.execute(text(f"SELECT seq, hash FROM {AuditHead.__tablename__} WHERE id = 1"))
            .first() if AuditHead.__tablename__ in counts else None)
    return {"schema_revision": revision, "tables": counts,
            "audit": {"entries": head[0] if head else 0, "last_hash": head[1] if head else None}}


# -- backup ----------------------------------------------------------------------------------

def backup(url: str, path: Path, *, force: bool = False, say: Say = _quiet) -> dict[str, Any]:
    """Snapshot the database at `url` into `path` (a new folder, or an archive when the name
    ends in .tar, .tar.gz or .tgz) and return the manifest written with it."""
    engine = _engine_name(url)
    _clear(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    try:
        manifest: dict[str, Any] = {
            "format": FORMAT, "kind": "riskatlas-backup", "engine": engine,
            "riskatlas_version": riskatlas.__version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if engine == "sqlite":
            manifest |= _backup_sqlite(_sqlite_file(url), work / SQLITE_FILE, say)
        else:
            manifest |= _backup_postgres(url, work / POSTGRES_FILE, say)
        manifest["files"] = {f.name: {"sha256": _sha256(f), "bytes": f.stat().st_size}
                             for f in sorted(work.iterdir())}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if _is_archive(path):
            with (tarfile.open(path, "w") if path.name.endswith(".tar")
                  else tarfile.open(path, "w:gz")) as tar:
                for member in sorted(work.iterdir()):
                    tar.add(member, arcname=member.name)
        else:
            work.rename(path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _clear(path: Path, force: bool) -> None:
    if not path.exists() and not path.is_symlink():
        return
    if not force:
        raise BackupError(f"{path} already exists (--force replaces an earlier backup)")
    if path.is_dir():
        if not (path / MANIFEST).is_file():  # never remove a folder that is not a backup
            raise BackupError(f"{path} is a folder but not a backup (no {MANIFEST}): "
                              "not replaced even with --force")
        shutil.rmtree(path)
    else:
        path.unlink()


def _backup_sqlite(source: Path, target: Path, say: Say) -> dict[str, Any]:
    if not source.is_file():
        raise DatabaseUnusable(f"no SQLite database at {source}")
    say(f"Copying {source} with SQLite's online backup…")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # all pages in one step: one read transaction, a consistent state
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        problem = dst.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise BackupError(f"the copy of {source} fails SQLite's check: {problem}")
    finally:
        dst.close()
        src.close()
    copy = create_engine(f"sqlite:///{target}")
    try:
        with copy.connect() as conn:
            return _facts(conn)
    finally:
        copy.dispose()


def _backup_postgres(url: str, target: Path, say: Say) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.execute(text("SET TRANSACTION READ ONLY"))
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                server = pgtools.server_version(conn)
                facts = _facts(conn)
                tool = pgtools.find("pg_dump", server)
                say(f"Dumping with {tool.path} (PostgreSQL {tool.version}) at snapshot "
                    f"{snapshot}…")
                # The exporting transaction stays open until pg_dump has taken the snapshot
                # over; the dump then sees exactly what the counts above saw.
                pgtools.run(tool, url, ["--format=custom", "--no-owner", f"--snapshot={snapshot}",
                                        f"--file={target}"])
    finally:
        engine.dispose()
    return facts | {"server_version": server.text, "pg_dump_version": tool.version.text}


# -- restore ---------------------------------------------------------------------------------

@dataclass
class Restored:
    manifest: dict[str, Any]
    audit_entries: int
    notes: list[str] = field(default_factory=list)


@contextmanager
def read_backup(path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The backup's folder (an archive is unpacked into a temporary one) and its manifest, after
    every file's checksum has been checked."""
    if not path.exists():
        raise BackupError(f"no backup at {path}")
    with tempfile.TemporaryDirectory(prefix="riskatlas-restore-") as tmp:
        folder = path
        if path.is_file():
            if not tarfile.is_tarfile(path):
                raise BackupError(f"{path} is neither a backup folder nor a tar archive")
            with tarfile.open(path) as tar:
                tar.extractall(tmp, filter="data")
            folder = Path(tmp)
        yield folder, _checked(folder)


def _checked(folder: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{folder / MANIFEST} is missing: not a Risk Atlas backup") from None
    except ValueError as exc:
        raise BackupError(f"{folder / MANIFEST} is not valid JSON: {exc}") from None
    if manifest.get("kind") != "riskatlas-backup" or not isinstance(manifest.get("files"), dict):
        raise BackupError(f"{folder / MANIFEST} is not a Risk Atlas backup manifest")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')} is not {FORMAT}: it was made "
                          f"by Risk Atlas {manifest.get('riskatlas_version')}")
    for name, expected in manifest["files"].items():
        file = folder / name
        if Path(name).name != name or not file.is_file():
            raise BackupError(f"{file} is listed in the manifest but missing")
        if _sha256(file) != expected.get("sha256"):
            raise BackupError(f"{file} does not match its SHA-256 in the manifest: the backup "
                              "is damaged or was changed")
    return manifest


def restore(url: str, path: Path, *, say: Say = _quiet) -> Restored:
    """Restore the backup at `path` into the empty database at `url`, then check it."""
    engine = _engine_name(url)
    _refuse_non_empty(url, only_open=True)  # a target that cannot be opened is said first
    with read_backup(path) as (folder, manifest):
        say(f"Checked {len(manifest['files'])} file(s) against the manifest.")
        if manifest.get("engine") != engine:
            raise BackupError(f"the backup is of a {manifest.get('engine')} database; it can "
                              f"only be restored into {manifest.get('engine')}, not {engine}")
        _refuse_non_empty(url)
        if engine == "sqlite":
            _restore_sqlite(folder / SQLITE_FILE, _sqlite_file(url), say)
        else:
            _restore_postgres(url, folder / POSTGRES_FILE, manifest, say)
    return _check_restored(url, manifest, say)


def _refuse_non_empty(url: str, only_open: bool = False) -> None:
    if make_url(url).get_backend_name() == "sqlite" and not _sqlite_file(url).exists():
        if not _sqlite_file(url).parent.is_dir():  # made by nobody but the operator
            raise DatabaseUnusable(f"cannot create {_sqlite_file(url)}: no folder "
                                   f"{_sqlite_file(url).parent}")
        return
    target = make_engine(url)
    try:
        with target.connect() as conn:
            if only_open:
                return
            quote = conn.dialect.identifier_preparer.quote
            tables = _tables(conn)
            full = [t for t in tables
                    if conn.execute(text(f"SELECT 1 FROM {quote(t)} LIMIT 1")).first()]
    finally:
        target.dispose()
    if tables:
        empty = [t for t in tables if t not in full]
        said = [f"tables with rows: {_few(full, len(full))}"] if full else []
        said += [f"empty tables: {_few(empty)}"] if empty else []
        raise BackupError(f"the target database is not empty ({'; '.join(said)}): restore "
                          "into a new, empty database")


def _few(names: list[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _restore_sqlite(source: Path, target: Path, say: Say) -> None:
    say(f"Copying the backup into {target} with SQLite's backup API…")
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _restore_postgres(url: str, dump: Path, manifest: dict[str, Any], say: Say) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            server = pgtools.server_version(conn)
    finally:
        engine.dispose()
    made_by = pgtools.Version.parse(str(manifest.get("pg_dump_version", "0")))
    tool = pgtools.find("pg_restore", server, at_least=made_by.major)
    say(f"Restoring with {tool.path} (PostgreSQL {tool.version})…")
    pgtools.run(tool, url, ["--no-owner", "--exit-on-error", "--single-transaction", str(dump)])


def _check_restored(url: str, manifest: dict[str, Any], say: Say) -> Restored:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            counts = _counts(conn)
        wrong = [f"{name}: {counts.get(name, 'missing')} rows, the backup had {n}"
                 for name, n in manifest.get("tables", {}).items() if counts.get(name) != n]
        if wrong:
            raise BackupError("the restored database does not hold what the backup recorded: "
                              + "; ".join(wrong))
        say(f"Row counts match the manifest ({len(counts)} tables).")
        with Session(engine) as session:
            verdict = verify(session)
            head = session.get(AuditHead, 1)
    finally:
        engine.dispose()
    if not verdict.ok:
        raise BackupError(f"audit chain broken at entry {verdict.broken_seq}: {verdict.reason}")
    audit = manifest.get("audit", {})
    if (verdict.entries, head.hash if head else None) != (audit.get("entries"),
                                                          audit.get("last_hash")):
        raise BackupError(f"the restored audit chain ends at entry {verdict.entries}, the "
                          f"backup's at entry {audit.get('entries')}")
    say(f"Audit chain intact: {verdict.entries} entries.")
    return Restored(manifest, verdict.entries)


# -- before an upgrade -----------------------------------------------------------------------

def upgrade_backup_path(settings: Settings, revision: str | None) -> Path:
    """Where `riskatlas db upgrade` puts its backup: RISKATLAS_BACKUP_DIR, else a `backups`
    folder beside the SQLite file (PostgreSQL: in the current directory)."""
    if settings.backup_dir:
        folder = Path(settings.backup_dir)
    elif _engine_name(settings.database_url) == "sqlite":
        folder = _sqlite_file(settings.database_url).resolve().parent / "backups"
    else:
        folder = Path.cwd() / "backups"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return folder / f"riskatlas-{stamp}-before-upgrade-from-{revision or 'empty'}"
