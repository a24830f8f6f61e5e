"""Twenty clients writing risks through the API, each write recorded when its answer says it
was committed; and databases to restore into."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime

from ..conftest import PG_URL
from ..helpers import cli

CLIENTS = 20
PREFIX = "OPS-"


def risk(key: str) -> dict[str, Any]:
    text_ = {"en": f"Written by load client {key}", "ru": f"Запись клиента {key}"}
    return {"key": key, "title": text_, "summary": text_, "category": "traditional",
            "domain": "borders", "states": ["KAZ"], "likelihood": "High", "impact": "Moderate",
            "rationale": text_, "tlp": "green", "status": "draft",
            "sources": [{"title": "Load test", "url": "https://example.org/load",
                         "published": "2026"}]}


def writer_token(db_url: str) -> str:
    """Load the default catalog and issue a write token to an editor of KAZ-SC."""
    result = cli("init", "--db", db_url)
    assert result.exit_code == 0, result.output
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        accounts.add_user(session, "loader", "KAZ-SC", "editor", "correct-horse-battery-staple")
        return accounts.create_token(session, "loader", "write")


@dataclass
class Writers:
    """CLIENTS threads, each posting new risks until stopped. `committed` holds (key, time the
    201 arrived); a write without a 201 (refused, or cut off by a dying server) is not in it."""

    base_url: str
    token: str
    committed: list[tuple[str, float]] = field(default_factory=list)
    sent: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Writers:
        for n in range(CLIENTS):
            thread = threading.Thread(target=self._write, args=(n,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _write(self, client: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as http:
            n = 0
            while not self._stop.is_set():
                n += 1
                key = f"{PREFIX}{client:02d}-{n:05d}"
                with self._lock:
                    self.sent.add(key)
                try:
                    answer = http.post("/api/v1/risks", json=risk(key))
                except httpx.HTTPError as exc:  # the server went away mid-request
                    with self._lock:
                        self.errors.append(f"{key}: {type(exc).__name__}")
                    time.sleep(0.05)
                    continue
                with self._lock:
                    if answer.status_code == 201:
                        self.committed.append((key, time.monotonic()))
                    else:
                        self.errors.append(f"{key}: {answer.status_code} {answer.text[:200]}")

    def wait_for(self, count: int, seconds: float = 30) -> None:
        """Until `count` writes in all were committed (or the deadline passes)."""
        deadline = time.monotonic() + seconds
        while len(self.committed) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(40)
        assert not any(t.is_alive() for t in self._threads), "a writer did not stop"

    def keys_before(self, moment: float) -> set[str]:
        return {key for key, at in self.committed if at < moment}

    @property
    def committed_keys(self) -> set[str]:
        return {key for key, _ in self.committed}


def written_keys(db_url: str) -> set[str]:
    """The load clients' risks present in a database."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT key FROM risks WHERE key LIKE :p"),
                                    {"p": f"{PREFIX}%"}).scalars())
    finally:
        engine.dispose()


def rows(db_url: str, table: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


class Databases:
    """New, empty databases of the engine of `like` (SQLite files or PostgreSQL databases on
    the test server), dropped at the end."""

    def __init__(self, like: str, folder: Any) -> None:
        self.postgres = not like.startswith("sqlite")
        self.folder = folder
        self.made: list[str] = []

    def new(self) -> str:
        name = f"riskatlas_restore_{uuid.uuid4().hex[:8]}"
        if not self.postgres:
            url = f"sqlite:///{self.folder / (name + '.db')}"
        else:
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        self.made.append(url)
        return url

    def drop_all(self) -> None:
        from riskatlas.db import get_engine

        if not self.postgres:
            return
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for url in self.made:
                get_engine(url).dispose()
                conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" '
                                  "WITH (FORCE)"))
        admin.dispose()


def databases(like: str, folder: Any) -> Iterator[Databases]:
    made = Databases(like, folder)
    try:
        yield made
    finally:
        made.drop_all()
