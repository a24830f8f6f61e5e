"""A small node for the measures and country page tests: risks and measures of two member
organisations at several markings, accounts with browser sessions and API tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from riskatlas.config import Settings
from riskatlas.parties import accounts, auth
from riskatlas.parties.models import Organisation, User
from riskatlas.parties.principal import Principal
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import load

PASSWORD = "correct-horse-battery-staple"
USERS = {  # username -> (organisation, role)
    "kaz_editor": ("KAZ-SC", "editor"),   # editor of the owner (and lead) of most measures
    "kaz_viewer": ("KAZ-SC", "viewer"),
    "kgz_editor": ("KGZ-SC", "editor"),   # another member's editor
    "sau_viewer": ("SAU-GOV", "viewer"),  # partner: sees no AMBER record
}
AMBER = ("CA-WEB-002", "CA-MWB-003", "Amber secret")  # what the partner must never see

CATALOG = """
risks:
""" + "".join(f"""
  - key: {key}
    title: {{en: {title}, ru: {title} ру}}
    summary: {{en: Summary, ru: Резюме}}
    category: traditional
    domain: borders
    states: {states}
    likelihood: {lik}
    impact: {imp}
    rationale: {{en: because, ru: потому что}}
    status: adopted
    tlp: {tlp}
    owner: KAZ-SC
    sources:
      - {{title: Src, url: "https://example.org/a", published: 2024-01-02}}
""" for key, title, states, lik, imp, tlp in [
    ("CA-WEB-001", "Border clash", "[KAZ, KGZ]", "High", "Very High", "clear"),  # Very High
    ("CA-WEB-002", "Amber secret risk", "[KAZ]", "High", "High", "amber"),  # High
    ("CA-WEB-003", "Moderate risk", "[KAZ, TJK]", "Moderate", "Moderate", "green"),
    ("CA-WEB-004", "Kyrgyz risk", "[KGZ]", "Very High", "High", "green"),  # High
]) + """
measures:
""" + "".join(f"""
  - key: {key}
    title: {{en: {title}, ru: {title} ру}}
    summary: {{en: S, ru: С}}
    kind: prevention
    treatment: reduce
    lead: {org}
    owner: {org}
    states: {states}
    status: {status}
    effect: {{likelihood: {effect}, impact: {effect}}}
    risks: {risks}
    tlp: {tlp}
    end: {end}
    progress: 10
""" for key, title, org, states, status, effect, risks, tlp, end in [
    ("CA-MWB-001", "Joint patrols", "KAZ-SC", "[KAZ]", "proposed", 2, "[CA-WEB-001]", "clear",
     "2020-01-31"),  # overdue
    ("CA-MWB-002", "Hotline", "KAZ-SC", "[KAZ, KGZ]", "implemented", 1, "[CA-WEB-001]", "clear",
     "2020"),  # past, but done: not overdue
    ("CA-MWB-003", "Amber secret measure", "KAZ-SC", "[KAZ]", "in_progress", 1,
     "[CA-WEB-002]", "amber", "2999-12-31"),
    ("CA-MWB-004", "Kyrgyz drills", "KGZ-SC", "[KGZ]", "agreed", 1, "[CA-WEB-004]", "green",
     "2999-12"),
])


@dataclass
class World:
    db_url: str
    app: Any
    tokens: dict[str, str]
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)  # cookie, csrf

    def browser(self, username: str | None) -> tuple[TestClient, str | None]:
        """A client with the browser session of `username` (its cookie), and its CSRF token.
        The sessions are opened directly (parties.auth.start_session), not by signing in: a
        password check costs ~0.5 s of argon2 each, and sign-in has its own tests."""
        client = TestClient(self.app, follow_redirects=False)
        if username is None:
            return client, None
        cookie, csrf = self.sessions[username]
        client.cookies.set(auth.SESSION_COOKIE, cookie)
        return client, csrf

    def api(self, username: str, path: str) -> Any:
        response = TestClient(self.app).get(
            path, headers={"Authorization": f"Bearer {self.tokens[username]}"})
        assert response.status_code == 200, response.text
        return response.json()


def make_world(db_url: str, tmp_path: Path) -> World:
    catalog = tmp_path / "web-catalog.yaml"
    catalog.write_text(CATALOG, encoding="utf-8")
    load(db_url, catalog)
    world = World(db_url, create_app(Settings(database_url=db_url, cookie_secure=False)), {})
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        orgs = dict(session.execute(select(Organisation.key, Organisation.id)).all())
        for username, (org, role) in USERS.items():
            user = User(username=username, org_id=orgs[org], role=role,
                        password_hash=_password_hash(), active=True)
            session.add(user)
            session.flush()
            world.tokens[username] = accounts.create_token(session, username, "write")
            world.sessions[username] = auth.start_session(session, Principal(user_id=user.id))
    return world


@cache
def _password_hash() -> str:
    return accounts.hash_password(PASSWORD)


def form_fields(html: str, key: str) -> dict[str, str]:
    """The hidden fields of the first edit form of measure `key` in a page."""
    form = re.search(rf'<form class="measure-edit"[^>]*action="/measures/{key}/update"'
                     rf'.*?</form>', html, re.S)
    assert form is not None, f"no edit form for {key}"
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form[0]))
