"""Structured logs: one JSON line a request with its request id, and no secret in any line."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskatlas.config import Settings
from riskatlas.operations import logs
from riskatlas.parties import accounts
from riskatlas.parties.auth import SESSION_COOKIE
from riskatlas.parties.routes import LOGIN_CSRF_COOKIE
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app

PASSWORD = "correct-horse-battery-staple-42"
NEW_PASSWORD = "another-long-passphrase-99"


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_request_id_goes_round_and_onto_the_line(db_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    client = TestClient(create_app(Settings(database_url=db_url)))
    answer = client.get("/healthz", headers={"X-Request-ID": "probe-7.a:1"})
    assert answer.headers["x-request-id"] == "probe-7.a:1"
    made = client.get("/api/v1/risks").headers["x-request-id"]
    unsafe = client.get("/healthz", headers={"X-Request-ID": "x\" y<script>" + "z" * 80})
    assert unsafe.headers["x-request-id"] != "x\" y<script>" + "z" * 80
    requests = [line for line in _lines(capsys.readouterr().err) if line["event"] == "request"]
    by_id = {line["request_id"]: line for line in requests}
    assert by_id["probe-7.a:1"]["path"] == "/healthz"
    assert by_id["probe-7.a:1"]["status"] == 200 and by_id["probe-7.a:1"]["user"] == "-"
    assert isinstance(by_id["probe-7.a:1"]["duration_ms"], float)
    assert by_id[made]["path"] == "/api/v1/risks" and by_id[made]["method"] == "GET"
    assert unsafe.headers["x-request-id"] in by_id
    assert len(requests) == 3  # one line a request


def test_no_secret_in_any_log_line(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        accounts.add_user(session, "logan", "C5-SEC", "admin", PASSWORD)
        token = accounts.create_token(session, "logan", "write")
    client = TestClient(create_app(Settings(database_url=db_url, cookie_secure=False)))
    signed = client.post("/api/v1/auth/login", json={"username": "logan", "password": PASSWORD})
    assert signed.status_code == 200
    csrf = signed.json()["csrf_token"]
    cookie = client.cookies[SESSION_COOKIE]
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    # A form with passwords (the session's own password change).
    changed = client.post("/account/password", data={
        "csrf": csrf, "current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD},
        follow_redirects=False)
    assert changed.status_code in {303, 302}
    anonymous = TestClient(create_app(Settings(database_url=db_url, cookie_secure=False)))
    anonymous.get("/login")
    login_csrf = anonymous.cookies[LOGIN_CSRF_COOKIE]
    form = anonymous.post("/login", data={"username": "logan", "password": NEW_PASSWORD,
                                          "csrf": login_csrf}, follow_redirects=False)
    assert form.status_code == 303
    bearer = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/api/v1/auth/me", headers=bearer).status_code == 200
    for secret in (token, NEW_PASSWORD):
        basic = base64.b64encode(f"logan:{secret}".encode()).decode()
        assert anonymous.get("/taxii2/", headers={"Authorization": f"Basic {basic}",
                                                  "Accept": "application/taxii+json;version=2.1"}
                             ).status_code == 200
    anonymous.get(f"/api/v1/risks?token={token}&q=x")
    # Application events carrying secrets by mistake, ours and a library's.
    logs.get_logger("riskatlas.test").warning("oops", password=PASSWORD, note=f"Bearer {token}")
    logging.getLogger("some.library").warning("header was Authorization: Bearer %s", token)
    out = capsys.readouterr().err
    lines = _lines(out)
    assert sum(line["event"] == "request" for line in lines) >= 8
    assert any(line.get("user") == "logan" for line in lines)  # the principal is named
    assert any(line["event"] == "oops" for line in lines)
    # Application events: the audit trail's appends, with the request's id.
    appends = [line for line in lines if line["event"] == "audit.append"]
    assert any("login.success" in str(line["actions"]) and line.get("request_id")
               and line["actor"] == "logan" for line in appends)
    for secret in (PASSWORD, NEW_PASSWORD, token, token[3:], cookie, csrf, login_csrf,
                   base64.b64encode(f"logan:{token}".encode()).decode(),
                   base64.b64encode(f"logan:{NEW_PASSWORD}".encode()).decode()):
        assert secret not in out


def test_redaction_of_keys_and_values() -> None:
    event = logs.redact(None, "info", {
        "event": "x", "Authorization": "Basic dXNlcjpwYXNz", "session_id": "s1",
        "headers": {"cookie": "a=b", "accept": "text/html"},
        "url": "/p?a=1&access_token=abc&password=pw", "text": "sent Bearer abc.def"})
    assert event["Authorization"] == event["session_id"] == logs.REDACTED
    assert event["headers"] == {"cookie": logs.REDACTED, "accept": "text/html"}
    assert event["url"] == "/p?a=1&access_token=[redacted]&password=[redacted]"
    assert event["text"] == "sent Bearer [redacted]"


def test_console_format_is_readable(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    client = TestClient(create_app(Settings(database_url=db_url, log_format="console")))
    client.get("/healthz")
    err = capsys.readouterr().err
    assert "request" in err and "/healthz" in err and not err.lstrip().startswith("{")
    create_app(Settings(database_url=db_url))  # back to JSON for the tests after this one


def test_log_settings_are_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    from riskatlas.config import Settings

    monkeypatch.setenv("RISKATLAS_LOG_LEVEL", "warning")
    monkeypatch.setenv("RISKATLAS_LOG_FORMAT", "Console")
    settings = Settings()
    assert (settings.log_level, settings.log_format) == ("WARNING", "console")
    monkeypatch.setenv("RISKATLAS_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="log_level"):
        Settings()
