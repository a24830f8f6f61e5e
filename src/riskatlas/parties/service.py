"""The grouping, its states and organisations: seeded from the library, extended by the CLI."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskatlas.audit.service import append, ensure_head
from riskatlas.parties.models import Grouping, Organisation, State


def library_parties() -> dict[str, Any]:
    text = (resources.files("riskatlas.library") / "parties.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def seed(session: Session) -> None:
    """Create the default grouping, states and organisations that are missing (idempotent)."""
    data = library_parties()
    g = data["grouping"]
    if session.get(Grouping, g["code"]) is None:
        session.add(Grouping(code=g["code"], name=g["name"], adoption_rule=g["adoption_rule"],
                             languages={"working": g["languages"]}))
    for s in data["states"]:
        if session.get(State, s["code"]) is None:
            session.add(State(code=s["code"], name=s["name"], role=s["role"],
                              grouping_code=g["code"]))
    session.flush()
    ensure_head(session)
    known = set(session.scalars(select(Organisation.key)))
    for o in data["organisations"]:
        if o["key"] not in known:
            session.add(Organisation(key=o["key"], name=o["name"], state_code=o["state"]))
    session.flush()


def add_organisation(
    session: Session, name: str, state: str | None, actor: str | None = "cli"
) -> Organisation:
    """Add an organisation; its key is its name (the CLI contract names organisations)."""
    if state is not None and session.get(State, state.upper()) is None:
        raise ValueError(f"unknown state {state!r}: use an ISO 3166-1 alpha-3 code of the grouping")
    if session.scalar(select(Organisation).where(Organisation.key == name)) is not None:
        raise ValueError(f"organisation {name!r} already exists")
    org = Organisation(key=name, name={"en": name, "ru": name},
                       state_code=state.upper() if state else None)
    session.add(org)
    session.flush()
    append(session, actor=actor, action="org.create", entity="organisation", key=name,
           after={"key": name, "state": org.state_code})
    return org
