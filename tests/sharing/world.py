"""A small world for policy tests: organisations, users, tokens and one record per marking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from riskatlas.audit.service import Who
from riskatlas.catalog.importer import validate_files
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.service import save
from riskatlas.parties import accounts
from riskatlas.parties.models import Organisation, State, User
from riskatlas.runtime import Runtime
from riskatlas.sharing.models import RecordShare, SharingGroup, SharingGroupMember
from riskatlas.warning.models import Event

# user -> (organisation, role)
USERS = {
    "kaz_editor": ("KAZ-SC", "editor"),   # member, owner organisation of every record
    "kaz_viewer": ("KAZ-SC", "viewer"),   # member, same organisation, read-only role
    "kgz_viewer": ("KGZ-SC", "viewer"),   # another member
    "kgz_red": ("KGZ-SC", "viewer"),      # another member, named on the RED record
    "sau_viewer": ("SAU-GOV", "viewer"),  # partner, in the WATER sharing group
    "are_viewer": ("ARE-GOV", "viewer"),  # partner, in no group
    "tur_viewer": ("TUR-GOV", "viewer"),  # observer
}
# record suffix -> (tlp, sharing)
RECORDS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "CLEAR": ("clear", {}),
    "GREEN": ("green", {}),
    "AMBER": ("amber", {}),
    "GROUP": ("amber", {"groups": ["WATER"]}),
    "STRICT": ("amber+strict", {"orgs": ["KGZ-SC"]}),
    "NOGRANT": ("amber+strict", {}),
    "RED": ("red", {"users": ["kgz_red"]}),
}
ALL = set(RECORDS)
MEMBERS_SEE = {"CLEAR", "GREEN", "AMBER", "GROUP", "STRICT"}
# principal -> records it may see (the policy in docs/sharing.md, written out by hand)
EXPECTED: dict[str, set[str]] = {
    "kaz_editor": ALL - {"RED"},
    "kaz_viewer": ALL - {"RED"},
    "kgz_viewer": MEMBERS_SEE,
    "kgz_red": MEMBERS_SEE | {"RED"},
    "sau_viewer": {"CLEAR", "GREEN", "GROUP"},
    "are_viewer": {"CLEAR", "GREEN"},
    "tur_viewer": {"CLEAR"},
    "anonymous": set(),
    "anonymous_public": {"CLEAR"},
}


def risk_key(suffix: str) -> str:
    return f"CA-VIS-{suffix}"


def measure_key(suffix: str) -> str:
    return f"CA-MSR-{suffix}"


def _text(en: str) -> dict[str, str]:
    return {"en": en, "ru": f"Зебра {en}"}


def catalog() -> dict[str, Any]:
    risks, measures = [], []
    for suffix, (tlp, sharing) in RECORDS.items():
        risks.append({
            "key": risk_key(suffix), "title": _text(f"zebra risk [{suffix}]"),
            "summary": _text(f"secret summary [{suffix}]"), "category": "traditional",
            "domain": "borders", "states": ["KAZ"], "likelihood": "High", "impact": "High",
            "rationale": _text("r"), "owner": "KAZ-SC", "tlp": tlp, "sharing": sharing,
            "status": "adopted",
            "sources": [{"title": "s", "url": "https://example.org/s", "published": "2024"}],
        })
        # Each measure has the same marking as its risk and links to every risk, so nested
        # lists (risk.measures, measure.risks) must be filtered too.
        measures.append({
            "key": measure_key(suffix), "title": _text(f"zebra measure [{suffix}]"),
            "summary": _text("m"), "kind": "prevention", "treatment": "reduce",
            "lead": "KAZ-SC", "states": ["KAZ"], "status": "implemented",
            "effect": {"likelihood": 1, "impact": 0}, "owner": "KAZ-SC", "tlp": tlp,
            "sharing": sharing, "risks": [risk_key(s) for s in RECORDS],
        })
    return {"risks": risks, "measures": measures}


@dataclass
class World:
    tokens: dict[str, str] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)  # record suffix -> event id


def build(runtime: Runtime, tmp_path: Path) -> World:
    world = World()
    with runtime.transaction() as session:
        session.add(State(code="TUR", name={"en": "Türkiye", "ru": "Турция"}, role="observer",
                          grouping_code="c5"))
        session.flush()
        session.add(Organisation(key="TUR-GOV", name={"en": "TUR", "ru": "TUR"},
                                 state_code="TUR"))
        session.flush()
        orgs = dict(session.execute(select(Organisation.key, Organisation.id)).all())
        group = SharingGroup(key="WATER", name="Water partners", owner_org_id=orgs["KAZ-SC"])
        session.add(group)
        session.flush()
        session.add(SharingGroupMember(group_id=group.id, org_id=orgs["SAU-GOV"]))
        for username, (org, role) in USERS.items():
            password = f"pw-{username}-0123456789"
            accounts.add_user(session, username, org, role, password)
            world.passwords[username] = password
            world.tokens[username] = accounts.create_token(session, username, "write")
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(catalog(), allow_unicode=True), encoding="utf-8")
    with runtime.transaction() as session:
        batch = validate_files(session, active_matrix(runtime.settings), [path])
        save(session, active_matrix(runtime.settings), batch, Who("test"))
    with runtime.transaction() as session:
        _events(session, world)
    return world


def _events(session: Any, world: World) -> None:
    """One field report per marking, owned and shared as the records are (early warning)."""
    orgs = dict(session.execute(select(Organisation.key, Organisation.id)).all())
    users = dict(session.execute(select(User.username, User.id)).all())
    groups = dict(session.execute(select(SharingGroup.key, SharingGroup.id)).all())
    for suffix, (tlp, sharing) in RECORDS.items():
        event = Event(source="report", source_id=f"vis-{suffix}", period="day",
                      date=date(2024, 5, 1), country="KAZ", admin1="Almaty",
                      event_type="Riots", sub_type="Mob violence", events=1,
                      notes=f"zebra event [{suffix}]", owner_org_id=orgs["KAZ-SC"], tlp=tlp,
                      digest=suffix)
        session.add(event)
        session.flush()
        world.events[suffix] = event.id
        for group in sharing.get("groups", []):
            session.add(RecordShare(entity="event", record_id=event.id, group_id=groups[group]))
        for org in sharing.get("orgs", []):
            session.add(RecordShare(entity="event", record_id=event.id, org_id=orgs[org]))
        for user in sharing.get("users", []):
            session.add(RecordShare(entity="event", record_id=event.id, user_id=users[user]))
