"""`riskatlas backup`, `riskatlas restore` and `riskatlas db upgrade`: thin commands over
operations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from riskatlas.cli_options import Db, err, fail, runtime
from riskatlas.operations.backup import BackupError, DatabaseUnusable, upgrade_backup_path
from riskatlas.operations.backup import backup as take_backup
from riskatlas.operations.backup import restore as restore_backup

Where = Annotated[Path, typer.Argument(
    help="Backup folder (or archive, when the name ends in .tar, .tar.gz or .tgz).")]


def _say(message: str) -> None:
    err.print(escape(message), highlight=False, soft_wrap=True)


def backup(
    path: Where, db: Db = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier backup at PATH.")]
    = False,
) -> None:
    """Snapshot the database into PATH while the server keeps running (SQLite: online backup;
    PostgreSQL: pg_dump), with a manifest of row counts, the audit head and checksums."""
    url = runtime(db).settings.database_url
    try:
        with err.status("Backing up…"):
            manifest = take_backup(url, path, force=force, say=_say)
    except BackupError as exc:
        fail(str(exc), 2 if isinstance(exc, DatabaseUnusable) else 1)
    rows = sum(manifest["tables"].values())
    _say(f"Backup written to {path}: schema revision {manifest['schema_revision']}, "
         f"{len(manifest['tables'])} tables, {rows} rows, "
         f"{manifest['audit']['entries']} audit entries.")


def restore(path: Where, db: Db = None) -> None:
    """Restore the backup at PATH into an empty database, then check its row counts and audit
    chain; a database that holds any table is refused."""
    from riskatlas.migrate import head_revision

    url = runtime(db).settings.database_url
    try:
        with err.status("Restoring…"):
            done = restore_backup(url, path, say=_say)
    except BackupError as exc:
        fail(str(exc), 2 if isinstance(exc, DatabaseUnusable) else 1)
    revision = done.manifest.get("schema_revision")
    _say(f"Restored {path} (taken {done.manifest.get('created_at')}, schema revision "
         f"{revision}).")
    if revision != head_revision():
        _say("The schema is older than this version of Risk Atlas: run `riskatlas db upgrade`.")


def db_upgrade(
    db: Db = None, revision: str = "head",
    no_backup: Annotated[bool, typer.Option(
        "--no-backup", help="Do not take a backup first (not recommended).")] = False,
) -> None:
    """Apply schema migrations up to REVISION (default: head), after a backup into
    RISKATLAS_BACKUP_DIR. A failing revision rolls the whole upgrade back."""
    from riskatlas.migrate import MigrationFailed, current_revision, head_revision, upgrade

    settings = runtime(db).settings
    url = settings.database_url
    start = current_revision(url)
    saved = None
    if start is not None and revision == "head" and start == head_revision():
        err.print(f"Database schema is already at revision {start}; nothing to do.")
        return
    if start is None:
        err.print("The database has no schema yet: nothing to back up.")
    elif no_backup:
        err.print("[bold yellow]warning: --no-backup: migrating WITHOUT a backup; a failed "
                  "upgrade is rolled back, but nothing else protects the data.[/bold yellow]")
    else:
        saved = upgrade_backup_path(settings, start)
        try:
            with err.status("Backing up before the upgrade…"):
                take_backup(url, saved, say=_say)
        except BackupError as exc:
            fail(f"no backup, so no upgrade: {exc} (--no-backup skips it)")
        _say(f"Backup taken: {saved}")
    try:
        with err.status("Migrating…"):
            upgrade(url, revision)
    except MigrationFailed as exc:
        where = (f" A backup taken just before is at {saved} (`riskatlas restore {saved}` "
                 "into a new, empty database)." if saved else "")
        fail(f"upgrade failed: {exc}.{where}")
    err.print(f"Database schema is up to date (revision {current_revision(url)}).")
