"""/healthz and /readyz: green on a current database, 503 with the reason otherwise."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from riskatlas.config import Settings
from riskatlas.db import get_engine
from riskatlas.migrate import head_revision, upgrade
from riskatlas.web.app import create_app


def _client(url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=url)))


def test_healthy_and_ready(db_url: str) -> None:
    client = _client(db_url)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "schema": head_revision()}
    assert ready.headers["cache-control"] == "no-store"


def test_not_ready_behind_the_code(db_url: str) -> None:
    """The stored revision differs from the scripts' head: 503 naming both."""
    engine = get_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0012'"))
    try:
        answer = _client(db_url).get("/readyz")
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"),
                         {"head": head_revision()})
    assert answer.status_code == 503
    assert answer.json()["reason"] == (
        f"schema at 0012, code expects {head_revision()}: run riskatlas db upgrade")


def test_not_ready_on_a_database_migrated_to_0012(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0012")
    answer = _client(url).get("/readyz")
    assert answer.status_code == 503 and "schema at 0012" in answer.json()["reason"]
    upgrade(url)
    assert _client(url).get("/readyz").status_code == 200


def test_not_ready_on_an_empty_database(tmp_path: Path) -> None:
    answer = _client(f"sqlite:///{tmp_path / 'empty.db'}").get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["reason"].startswith("schema not migrated")


def test_not_ready_when_the_database_is_unreachable(tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}",
                "postgresql+psycopg://nobody@127.0.0.1:1/none"):
        client = _client(url)
        assert client.get("/healthz").status_code == 200  # the process is up all the same
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json()["reason"].startswith("database unreachable: ")
        get_engine(url).dispose()
