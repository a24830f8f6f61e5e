"""NUL in a JSON body is refused with 422 before any handler (schemathesis found a 500 on
PostgreSQL: POST /api/v1/risks {"key": "\\u0000"} reached a key look-up)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app

pytestmark = pytest.mark.audited  # issue 8: the audit chain holds after each test


@pytest.fixture
def client(db_url: str) -> TestClient:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        accounts.add_user(session, "ed", "C5-SEC", "admin", "correct horse battery")
        token = accounts.create_token(session, "ed", "write")
    return TestClient(create_app(Settings(database_url=db_url, cookie_secure=False)),
                      headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("path", ["/api/v1/risks", "/api/v1/measures", "/api/v1/groups"])
def test_a_nul_in_a_json_body_is_a_422(client: TestClient, path: str) -> None:
    response = client.post(path, json={"key": "\x00", "name": "x"})
    assert response.status_code == 422
    assert response.json()["message"] == "NUL characters are not allowed."


def test_the_text_of_an_escape_is_no_nul(client: TestClient) -> None:
    # The six characters \u0000 (an escaped backslash in JSON): refused for other reasons only.
    response = client.post("/api/v1/groups", json={"key": "G-1", "name": "\\u0000"})
    assert response.status_code == 201, response.text
