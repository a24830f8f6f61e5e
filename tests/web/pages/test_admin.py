"""/admin: administrators only (others 403, anonymous to the sign-in page); organisations,
users, tokens and sharing groups through the services, each change audited."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from riskatlas.audit.models import AuditEntry
from riskatlas.parties import accounts, service
from riskatlas.runtime import Runtime
from riskatlas.sharing import service as sharing
from tests.web.pages.frame_kit import (
    add_user,
    app_for,
    fast_hashing,  # noqa: F401
    settings_for,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _actions(db_url: str) -> list[tuple[str | None, str]]:
    with Runtime(settings_for(db_url)).transaction() as session:
        return [tuple(r) for r in session.execute(  # type: ignore[misc]
            select(AuditEntry.actor, AuditEntry.action).order_by(AuditEntry.id))]


def test_admin_is_for_administrators_only(db_url: str) -> None:
    add_user(db_url, "eve", role="editor")
    with TestClient(app_for(db_url)) as client:
        anonymous = client.get("/admin", follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/login?next=%2Fadmin"
        csrf = sign_in(client, "eve")
        page = client.get("/admin?lang=ru")
        assert page.status_code == 403 and "Эта страница — для администраторов." in page.text
        assert ">Администрирование</a>" not in page.text  # no Admin link in her navigation
        for path, data in (("/admin/users", {"username": "mallory", "org": "KAZ-SC",
                                             "role": "admin"}),
                           ("/admin/orgs", {"name": "Shadow", "where": "KAZ"}),
                           ("/admin/groups", {"key": "G", "name": "G", "owner": "KAZ-SC"})):
            assert client.post(path, data={**data, "csrf": csrf}).status_code == 403, path
    with Runtime(settings_for(db_url)).transaction() as session:
        assert [u["username"] for u in accounts.list_users(session)] == ["eve"]
        assert sharing.list_groups(session) == []


def test_admin_manages_parties_and_groups(db_url: str) -> None:
    add_user(db_url, "root", org="C5-SEC", role="admin")
    add_user(db_url, "bob", role="viewer")
    with Runtime(settings_for(db_url)).transaction() as session:
        accounts.create_token(session, "bob", "read", 30, "bob's script")
    with TestClient(app_for(db_url)) as client:
        csrf = sign_in(client, "root")
        page = client.get("/admin")
        assert page.status_code == 200 and ">Admin</a>" in page.text
        assert "KAZ-SC" in page.text and "bob&#39;s script" in page.text
        assert client.post("/admin/orgs", data={"name": "Border Service"}).status_code == 403

        added = client.post("/admin/orgs", data={"csrf": csrf, "name": "Border Service",
                                                 "where": "KGZ"}, follow_redirects=False)
        assert added.status_code == 303 and added.headers["location"] == "/admin?done=org#orgs"
        body = client.post("/admin/orgs", data={"csrf": csrf, "name": "Observer Desk",
                                                "key": "obs-desk", "where": "standing:observer"})
        assert body.status_code == 200 and "OBS-DESK" in body.text
        twice = client.post("/admin/orgs", data={"csrf": csrf, "name": "Border Service",
                                                 "where": "KGZ"})
        assert twice.status_code == 422 and "already exists" in twice.text

        user = client.post("/admin/users", data={"csrf": csrf, "username": "carol",
                                                 "org": "BORDER-SERVICE", "role": "analyst"})
        assert user.status_code == 200 and user.headers["cache-control"] == "no-store"
        generated = re.search(r'<code id="secret">([^<]+)</code>', user.text)
        assert generated
        weak = client.post("/admin/users?lang=ru", data={
            "csrf": csrf, "username": "dave", "org": "KAZ-SC", "role": "viewer",
            "password": "password1234"})
        assert weak.status_code == 422 and "Пароль слишком легко угадать" in weak.text

        promoted = client.post("/admin/users/carol/role", data={"csrf": csrf, "role": "editor"},
                               follow_redirects=False)
        assert promoted.status_code == 303
        last = client.post("/admin/users/root/role", data={"csrf": csrf, "role": "viewer"})
        assert last.status_code == 422 and "the last active administrator" in last.text
        assert client.post("/admin/users/bob/disable", data={"csrf": csrf},
                           follow_redirects=False).status_code == 303
        with Runtime(settings_for(db_url)).transaction() as session:
            token_id = accounts.list_tokens(session, "bob")[0]["id"]
        assert client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf": csrf},
                           follow_redirects=False).status_code == 303

        assert client.post("/admin/groups", data={"csrf": csrf, "key": "water", "name":
                                                  "Water talks", "owner": "KAZ-SC"},
                           follow_redirects=False).status_code == 303
        for org in ("UZB-SC", "BORDER-SERVICE"):
            assert client.post("/admin/groups/WATER/members", data={"csrf": csrf, "org": org},
                               follow_redirects=False).status_code == 303
        assert client.post("/admin/groups/WATER/members/remove",
                           data={"csrf": csrf, "org": "UZB-SC"},
                           follow_redirects=False).status_code == 303
        again = client.post("/admin/groups/WATER/members/remove",
                            data={"csrf": csrf, "org": "UZB-SC"})
        assert again.status_code == 422 and "not in sharing group WATER" in again.text
        russian = client.get("/admin?lang=ru").text
        assert "<h1>Администрирование</h1>" in russian and "Water talks" in russian

    with Runtime(settings_for(db_url)).transaction() as session:
        orgs = {o["key"]: o for o in service.list_organisations(session)}
        assert orgs["BORDER-SERVICE"]["state"] == "KGZ"
        assert orgs["OBS-DESK"]["standing"] == "observer"
        users = {u["username"]: u for u in accounts.list_users(session)}
        assert users["carol"]["role"] == "editor" and users["carol"]["org"] == "BORDER-SERVICE"
        assert not users["bob"]["active"] and "dave" not in users
        assert accounts.list_tokens(session, "bob")[0]["revoked_at"] is not None
        assert sharing.show_group(session, "WATER")["members"] == ["BORDER-SERVICE"]
    with TestClient(app_for(db_url)) as carol:  # the password shown once is hers
        sign_in(carol, "carol", generated.group(1))
    mine = [action for actor, action in _actions(db_url) if actor == "root"]
    assert mine == ["login.success", "org.create", "org.create", "user.create",
                    "user.role", "user.disable", "token.revoke", "group.create", "group.member.add",
                    "group.member.add", "group.member.remove"]
