"""PostgreSQL's client tools (pg_dump, pg_restore): found, version-checked and run.

pg_dump refuses a server newer than itself, and pg_restore an archive written by a newer
pg_dump, so the tool is chosen by version: on PATH or in /usr/lib/postgresql/*/bin (Debian and
Ubuntu install each major version there), the same major as the server when there is one, else
the oldest newer one. The password travels in PGPASSWORD, never on the command line (where `ps`
would show it).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

SEARCHED = "/usr/lib/postgresql/*/bin"


class BackupError(Exception):
    """A backup or restore that cannot be done, with the reason for the operator."""


class DatabaseUnusable(BackupError):
    """The database to back up or restore into cannot be opened (the CLI's exit status 2)."""


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int = 0

    @classmethod
    def parse(cls, raw: str) -> Version:
        found = re.search(r"(\d+)(?:\.(\d+))?", raw)
        if not found:
            return cls(0)
        return cls(int(found[1]), int(found[2] or 0))

    @property
    def text(self) -> str:
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Tool:
    path: str
    version: Version


def server_version(conn: Connection) -> Version:
    number = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    return Version(number // 10000, number % 10000)


def _version(path: str) -> Version | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    # "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    return Version.parse(out.split(")", 1)[-1])


def find(name: str, server: Version, at_least: int = 0) -> Tool:
    """The `name` tool suited to a server of version `server` (and at least major `at_least`)."""
    paths = [p for p in [shutil.which(name), *sorted(glob.glob(f"{SEARCHED}/{name}"))] if p]
    found = {}
    for path in dict.fromkeys(os.path.realpath(p) for p in paths):
        version = _version(path)
        if version is not None:
            found[path] = version
    if not found:
        raise BackupError(f"{name} not found on PATH or in {SEARCHED}: install PostgreSQL's "
                          f"client tools, version {server.major} or newer (Debian and Ubuntu: "
                          f"postgresql-client-{server.major})")
    needed = max(server.major, at_least)
    suited = [Tool(p, v) for p, v in found.items() if v.major >= needed]
    if not suited:
        have = ", ".join(f"{p} ({v})" for p, v in found.items())
        raise BackupError(f"{name} must be of PostgreSQL {needed} or newer (the server is "
                          f"{server}); found only {have}: install postgresql-client-{needed}")
    return min(suited, key=lambda t: (t.version.major != needed, t.version))


def run(tool: Tool, url: str, args: list[str]) -> None:
    """Run the tool against the database of a SQLAlchemy URL; BackupError with its stderr."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    conninfo = parsed.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)
    done = subprocess.run([tool.path, *args, f"--dbname={conninfo}"], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise BackupError(f"{os.path.basename(tool.path)} failed (exit {done.returncode}): "
                          + (" / ".join(lines[-5:]) or "no message"))
