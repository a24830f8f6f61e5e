"""/account: password change under the policy, API tokens shown once and revoked, CSRF on
every form, every change audited with the user's name (as the CLI audits its own)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from riskatlas.audit.models import AuditEntry
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from tests.web.pages.frame_kit import (
    PASSWORD,
    add_user,
    app_for,
    fast_hashing,  # noqa: F401
    field,
    settings_for,
    sign_in,
)

GOOD = "lantern orbit velvet quarry"


def _audited(db_url: str, action: str) -> list[tuple[str | None, str | None]]:
    with Runtime(settings_for(db_url)).transaction() as session:
        return [tuple(row) for row in session.execute(
            select(AuditEntry.actor, AuditEntry.key).where(AuditEntry.action == action))]

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_password_change_weak_refused_good_accepted(db_url: str) -> None:
    add_user(db_url, "alice")
    app = app_for(db_url)
    with TestClient(app) as client, TestClient(app) as other:
        csrf = sign_in(client, "alice")
        sign_in(other, "alice")  # a second browser: its session ends with the change
        weak = client.post("/account/password?lang=ru", data={
            "csrf": csrf, "current": PASSWORD, "new": "password1234", "again": "password1234"})
        assert weak.status_code == 422
        assert "Пароль слишком легко угадать" in weak.text
        assert 'id="pw-new" name="new"' in weak.text and 'aria-invalid="true"' in weak.text
        short = client.post("/account/password", data={
            "csrf": csrf, "current": PASSWORD, "new": "short", "again": "short"})
        assert short.status_code == 422 and "at least 12 characters" in short.text
        differ = client.post("/account/password", data={
            "csrf": csrf, "current": PASSWORD, "new": GOOD, "again": GOOD + "x"})
        assert differ.status_code == 422 and "The two new passwords differ." in differ.text
        wrong = client.post("/account/password", data={
            "csrf": csrf, "current": "not it at all", "new": GOOD, "again": GOOD})
        assert wrong.status_code == 422 and "The current password is wrong." in wrong.text
        assert _audited(db_url, "user.password") == []
        good = client.post("/account/password", data={
            "csrf": csrf, "current": PASSWORD, "new": GOOD, "again": GOOD},
            follow_redirects=False)
        assert good.status_code == 303 and good.headers["location"] == "/account?done=password"
        assert "Your password is changed." in client.get(good.headers["location"]).text
        assert other.get("/api/v1/auth/me").status_code == 401  # the other session ended
    assert _audited(db_url, "user.password") == [("alice", "alice")]
    with TestClient(app) as client:
        old = client.get("/login")
        assert client.post("/login", data={"username": "alice", "password": PASSWORD,
                                           "csrf": field(old.text, "csrf")}).status_code == 401
        sign_in(client, "alice", GOOD)


def test_token_shown_once_works_and_is_revoked(db_url: str) -> None:
    add_user(db_url, "alice")
    add_user(db_url, "bob")
    with Runtime(settings_for(db_url)).transaction() as session:
        accounts.create_token(session, "bob", "read", 30, "bob's")
    with TestClient(app_for(db_url)) as client:
        csrf = sign_in(client, "alice")
        made = client.post("/account/tokens", data={"csrf": csrf, "name": "report script",
                                                    "scope": "write"})
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        found = re.search(r"<code id=\"secret\">(ra_[A-Za-z0-9_-]+)</code>", made.text)
        assert found, made.text
        secret = found.group(1)
        listing = client.get("/account").text
        assert secret not in listing and "report script" in listing
        assert secret[:accounts.PREFIX_LENGTH] + "…" in listing
        assert "bob&#39;s" not in listing and "bob's" not in listing  # only one's own tokens
        bearer = {"Authorization": f"Bearer {secret}"}
        with TestClient(client.app) as program:
            me = program.get("/api/v1/auth/me", headers=bearer).json()
            assert me["username"] == "alice" and me["token_scope"] == "write"
        with Runtime(settings_for(db_url)).transaction() as session:
            ids = {t["user"]: t["id"] for t in accounts.list_tokens(session)}
        # Bob's token is not Alice's to revoke.
        assert client.post(f"/account/tokens/{ids['bob']}/revoke",
                           data={"csrf": csrf}).status_code == 422
        revoked = client.post(f"/account/tokens/{ids['alice']}/revoke", data={"csrf": csrf},
                              follow_redirects=False)
        assert revoked.status_code == 303
        with TestClient(client.app) as program:
            assert program.get("/api/v1/auth/me", headers=bearer).status_code == 401
        assert "revoked" in client.get("/account").text
    assert _audited(db_url, "token.create")[-1][0] == "alice"
    assert _audited(db_url, "token.revoke") == [("alice", secret[:accounts.PREFIX_LENGTH])]


def test_forms_without_csrf_field_are_refused(db_url: str) -> None:
    add_user(db_url, "alice")
    with TestClient(app_for(db_url)) as client:
        sign_in(client, "alice")
        for path, data in (("/account/password", {"current": PASSWORD, "new": GOOD,
                                                  "again": GOOD}),
                           ("/account/tokens", {"name": "x", "scope": "read"}),
                           ("/account/language", {"language": "ru"})):
            refused = client.post(path, data=data)
            assert refused.status_code == 403, path
            assert "did not come from this site" in refused.text
            assert client.post(path, data={**data, "csrf": "forged"}).status_code == 403
        # The session's header token is not a form field: a form must carry it itself.
        assert client.post("/account/tokens", data={"name": "x"}).status_code == 403
    with Runtime(settings_for(db_url)).transaction() as session:
        assert accounts.list_tokens(session) == []
    assert _audited(db_url, "user.password") == [] and _audited(db_url, "user.language") == []


def test_account_needs_a_signed_in_user(db_url: str) -> None:
    with TestClient(app_for(db_url)) as client:
        answer = client.post("/account/tokens", data={"name": "x"}, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")


def test_a_page_answering_a_form_switches_language_to_itself(db_url: str) -> None:
    add_user(db_url, "alice")
    with TestClient(app_for(db_url)) as client:
        csrf = sign_in(client, "alice")
        refused = client.post("/account/password?lang=ru", data={
            "csrf": csrf, "current": PASSWORD, "new": "short", "again": "short"})
        assert refused.status_code == 422
        assert 'href="/account?lang=en"' in refused.text  # not the POST-only /account/password
