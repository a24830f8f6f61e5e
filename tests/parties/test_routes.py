"""Sign-in over HTTP: the JSON API, the session cookie, rate limiting and the login form."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from riskatlas.audit.models import AuditEntry
from riskatlas.parties import accounts
from riskatlas.parties.auth import SESSION_COOKIE
from riskatlas.parties.routes import LOGIN_CSRF_COOKIE
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app

from .conftest import ATTEMPTS, PASSWORD

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"


def test_login_sets_a_safe_cookie_and_me_knows_the_user(
    client: TestClient, add_user: Callable[..., None],
) -> None:
    add_user("alice", "KAZ-SC", "editor")
    response = client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("username", "org", "role")} == {
        "username": "alice", "org": "KAZ-SC", "role": "editor"}
    assert body["csrf_token"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # cookie_secure=False in these tests
    me = client.get(ME)
    assert me.status_code == 200
    assert me.json()["username"] == "alice" and me.json()["standing"] == "member"
    assert me.json()["token_scope"] is None


def test_secure_cookie_when_configured(rt: Runtime, add_user: Callable[..., None]) -> None:
    add_user("alice")
    app = create_app(rt.settings.model_copy(update={"cookie_secure": True}))
    with TestClient(app) as client:
        response = client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert "; secure" in response.headers["set-cookie"].lower()


def test_bad_credentials_are_indistinguishable(
    client: TestClient, add_user: Callable[..., None],
) -> None:
    add_user("alice")
    unknown = client.post(LOGIN, json={"username": "nobody", "password": PASSWORD})
    wrong = client.post(LOGIN, json={"username": "alice", "password": "not it at all"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert set(unknown.json()) == {"code", "message"}
    assert "set-cookie" not in unknown.headers and "set-cookie" not in wrong.headers


def test_disabled_user_refused(client: TestClient, rt: Runtime,
                               add_user: Callable[..., None]) -> None:
    add_user("alice")
    with rt.transaction() as session:
        accounts.disable_user(session, "alice")
    response = client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 401


def test_rate_limit_per_account_returns_429(
    client_at: Callable[[str], TestClient], rt: Runtime, add_user: Callable[..., None],
) -> None:
    add_user("alice")
    for i in range(ATTEMPTS):  # each failure from a different address
        response = client_at(f"198.51.100.{i}").post(
            LOGIN, json={"username": "alice", "password": "wrong"})
        assert response.status_code == 401
    response = client_at("198.51.100.200").post(
        LOGIN, json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= rt.settings.login_window_seconds
    assert "set-cookie" not in response.headers
    with rt.transaction() as session:  # failures were committed, with their reason
        details = session.scalars(select(AuditEntry.detail)
                                  .where(AuditEntry.action == "login.failure")).all()
    assert details == ["wrong password"] * ATTEMPTS + ["rate limited"]


def test_rate_limit_per_address_returns_429(
    client: TestClient, client_at: Callable[[str], TestClient], add_user: Callable[..., None],
) -> None:
    add_user("alice")
    for i in range(ATTEMPTS):  # a different account each time, from one address
        assert client.post(LOGIN, json={"username": f"user{i}", "password": "x"}
                           ).status_code == 401
    blocked = client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    assert client_at("203.0.113.7").post(
        LOGIN, json={"username": "alice", "password": PASSWORD}).status_code == 200


def test_bearer_token_and_scope(client: TestClient, rt: Runtime,
                                add_user: Callable[..., None]) -> None:
    add_user("alice")
    with rt.transaction() as session:
        raw = accounts.create_token(session, "alice", "write", 5)
    me = client.get(ME, headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.json()["token_scope"] == "write"
    bad = client.get(ME, headers={"Authorization": "Bearer ra_wrong"})
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_token"
    with rt.transaction() as session:
        accounts.revoke_token(session, raw)
    assert client.get(ME, headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_me_requires_a_principal(client: TestClient) -> None:
    response = client.get(ME)
    assert response.status_code == 401 and set(response.json()) == {"code", "message"}


def test_logout_needs_csrf_and_ends_the_session(
    client: TestClient, add_user: Callable[..., None],
) -> None:
    add_user("alice")
    csrf = client.post(LOGIN, json={"username": "alice", "password": PASSWORD}
                       ).json()["csrf_token"]
    assert client.post("/api/v1/auth/logout").status_code == 403
    assert client.get(ME).status_code == 200
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}
                       ).status_code == 204
    assert client.get(ME).status_code == 401


def test_json_login_needs_a_json_body(client: TestClient, add_user: Callable[..., None]) -> None:
    # A cross-site <form> can only send form encodings; those must not sign anyone in.
    add_user("alice")
    body = json.dumps({"username": "alice", "password": PASSWORD})
    response = client.post(LOGIN, content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 422


# --- HTML login form ---------------------------------------------------------------------------

def _form_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match and client.cookies.get(LOGIN_CSRF_COOKIE) == match.group(1)
    assert "http://" not in page.text and "https://" not in page.text  # no external assets
    return match.group(1)


def test_login_form_signs_in(client: TestClient, add_user: Callable[..., None]) -> None:
    add_user("alice")
    csrf = _form_token(client)
    response = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                           "csrf": csrf, "next": "/risks/X"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/risks/X"
    assert client.cookies.get(SESSION_COOKIE)
    assert client.get(ME).json()["username"] == "alice"


def test_login_form_refuses_missing_or_wrong_csrf(
    client: TestClient, client_at: Callable[[str], TestClient], rt: Runtime,
    add_user: Callable[..., None],
) -> None:
    add_user("alice")
    fields = {"username": "alice", "password": PASSWORD}
    # No cookie, no field (a cross-site post from a fresh browser).
    fresh = client_at("192.0.2.50")
    missing = fresh.post("/login", data=fields, follow_redirects=False)
    assert missing.status_code == 403
    # Cookie present, field missing or different.
    _form_token(client)
    assert client.post("/login", data=fields, follow_redirects=False).status_code == 403
    wrong = client.post("/login", data={**fields, "csrf": "forged"}, follow_redirects=False)
    assert wrong.status_code == 403
    assert SESSION_COOKIE not in client.cookies
    with rt.transaction() as session:  # refused before any sign-in attempt
        assert session.scalar(select(AuditEntry.id).where(
            AuditEntry.action.like("login.%"))) is None


def test_login_form_reports_bad_credentials_and_rate_limit(
    client: TestClient, add_user: Callable[..., None],
) -> None:
    add_user("alice")
    bad = client.post("/login", data={"username": "alice", "password": "nope",
                                      "csrf": _form_token(client)})
    assert bad.status_code == 401 and "wrong password" in bad.text
    for _ in range(ATTEMPTS - 1):
        client.post("/login", data={"username": "alice", "password": "nope",
                                    "csrf": _form_token(client)})
    limited = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                          "csrf": _form_token(client)})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_login_form_never_redirects_off_site(
    client_at: Callable[[str], TestClient], add_user: Callable[..., None],
) -> None:
    add_user("alice")
    for i, target in enumerate(("//evil.example/", "https://evil.example/", "/\\evil.example")):
        client = client_at(f"192.0.2.{100 + i}")
        response = client.post("/login", data={"username": "alice", "password": PASSWORD,
                                               "csrf": _form_token(client), "next": target},
                               follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/"
