"""Request bodies over RISKATLAS_MAX_BODY_BYTES get 413 in the API's error shape, whether the
size is announced (Content-Length) or only streamed in (chunked); nothing is written.

Found against a live server: a risk with a 40 MB summary was accepted (201 in 1.8 s).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from riskatlas.catalog.models import Risk
from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app

pytestmark = pytest.mark.audited  # issue 8: the audit chain holds after each test

MB = 1 << 20


def _risk(summary: str) -> dict[str, Any]:
    return {"key": "CA-BIG-001", "title": {"en": "Big", "ru": "Большой"},
            "summary": {"en": summary, "ru": "Кратко"}, "category": "emerging",
            "domain": "cyber", "states": ["KAZ"], "likelihood": 2, "impact": 2,
            "rationale": {"en": "Why", "ru": "Почему"},
            "sources": [{"title": "A source", "url": "https://example.org/a",
                         "published": "2024-01-01"}]}


@pytest.fixture
def writer(db_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        accounts.add_user(session, "ed", "C5-SEC", "editor", "correct horse battery")
        token = accounts.create_token(session, "ed", "write")
    with TestClient(create_app(Settings(database_url=db_url, cookie_secure=False))) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def _risks(db_url: str) -> int:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Risk)) or 0)


def _too_large(response: Any) -> None:
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    assert "RISKATLAS_MAX_BODY_BYTES" in response.json()["message"]


def test_a_40_mb_summary_is_refused(writer: tuple[TestClient, dict[str, str]],
                                    db_url: str) -> None:
    client, auth = writer
    response = client.post("/api/v1/risks", json=_risk("x" * (40 * MB)), headers=auth)
    _too_large(response)
    assert _risks(db_url) == 0


def test_a_streamed_body_is_cut_off_at_the_limit(writer: tuple[TestClient, dict[str, str]],
                                                 db_url: str) -> None:
    client, auth = writer
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(40):
            sent.append(MB)
            yield b" " * MB

    response = client.post("/api/v1/risks", content=chunks(),
                           headers={**auth, "Content-Type": "application/json"})
    _too_large(response)
    assert _risks(db_url) == 0


def test_the_limit_is_a_setting_and_a_record_within_it_is_accepted(db_url: str) -> None:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        accounts.add_user(session, "ed", "C5-SEC", "editor", "correct horse battery")
        token = accounts.create_token(session, "ed", "write")
    settings = Settings(database_url=db_url, cookie_secure=False, max_body_bytes=4096)
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        small = _risk("A short summary.")
        assert len(json.dumps(small)) < 4096
        assert client.post("/api/v1/risks", json=small, headers=auth).status_code == 201
        _too_large(client.post("/api/v1/risks", json=_risk("y" * 5000), headers=auth))
        page = client.post("/login", data={"username": "ed", "password": "z" * 5000})
        assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert _risks(db_url) == 1
