"""Sharing groups: the named sets of organisations an AMBER record can be shared with.

The policy (sharing.policy) reads memberships in SQL on every request, so a change counts from
the next read; each change is audited in the same transaction, which also moves the web cache's
generation (web.cache), so no cached answer outlives it.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who, append_many
from riskatlas.parties.models import Organisation
from riskatlas.parties.service import PartiesError, normalise_key
from riskatlas.sharing.models import SharingGroup, SharingGroupMember

CLI = Who("cli")
MAX_NAME = 255  # SharingGroup.name


class SharingError(ValueError):
    """A refused change to sharing groups; the message is fit to show. `kind` tells the API
    which answer fits: invalid input, an unknown group or organisation, or a conflict."""

    def __init__(self, message: str,
                 kind: Literal["invalid", "unknown", "conflict"] = "invalid") -> None:
        super().__init__(message)
        self.kind = kind


def _key(value: str, what: str) -> str:
    try:
        return normalise_key(value, what)
    except PartiesError as exc:
        raise SharingError(str(exc)) from None


def _group(session: Session, key: str) -> SharingGroup:
    group = session.scalar(select(SharingGroup).where(
        SharingGroup.key == key.strip().upper()))
    if group is None:
        raise SharingError(f"no sharing group {key!r} (see: riskatlas groups list)", "unknown")
    return group


def _orgs(session: Session, keys: list[str]) -> dict[str, int]:
    """Organisation ids by key, in the order given (repeats once); every key must exist."""
    wanted = list(dict.fromkeys(k.strip().upper() for k in keys))
    if not wanted:
        raise SharingError("name at least one organisation")
    found = dict(session.execute(select(Organisation.key, Organisation.id)
                                 .where(Organisation.key.in_(wanted))).all())
    missing = [k for k in wanted if k not in found]
    if missing:
        raise SharingError(f"no organisation {', '.join(missing)} (see: riskatlas orgs list)",
                           "unknown")
    return {k: found[k] for k in wanted}


def _members(session: Session, group_ids: list[int]) -> dict[int, list[str]]:
    rows = session.execute(
        select(SharingGroupMember.group_id, Organisation.key)
        .join(Organisation, Organisation.id == SharingGroupMember.org_id)
        .where(SharingGroupMember.group_id.in_(group_ids)).order_by(Organisation.key))
    out: dict[int, list[str]] = {gid: [] for gid in group_ids}
    for gid, org in rows:
        out[gid].append(org)
    return out


def _describe(group: SharingGroup, owner: str, members: list[str]) -> dict[str, Any]:
    return {"key": group.key, "name": group.name, "owner": owner, "members": members}


def list_groups(session: Session) -> list[dict[str, Any]]:
    """Every sharing group with its owner and members (two queries, whatever their number)."""
    rows = session.execute(select(SharingGroup, Organisation.key)
                           .join(Organisation, Organisation.id == SharingGroup.owner_org_id)
                           .order_by(SharingGroup.key)).all()
    members = _members(session, [g.id for g, _ in rows])
    return [_describe(g, owner, members[g.id]) for g, owner in rows]


def show_group(session: Session, key: str) -> dict[str, Any]:
    """One sharing group with its owner and members."""
    group = _group(session, key)
    owner = session.scalar(select(Organisation.key).where(Organisation.id == group.owner_org_id))
    return _describe(group, owner or "", _members(session, [group.id])[group.id])


def add_group(session: Session, key: str, name: str, owner: str, *,
              who: Who = CLI) -> dict[str, Any]:
    """Create an empty sharing group owned by an organisation. Its key follows the rule of
    organisation keys (parties.service.normalise_key), as grants name it the same way."""
    group_key = _key(key, "sharing group")
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise SharingError(f"a sharing group needs a name of 1 to {MAX_NAME} characters")
    owner_key, owner_id = next(iter(_orgs(session, [owner]).items()))
    if session.scalar(select(SharingGroup.id).where(SharingGroup.key == group_key)) is not None:
        raise SharingError(f"sharing group {group_key!r} already exists", "conflict")
    group = SharingGroup(key=group_key, name=name, owner_org_id=owner_id)
    session.add(group)
    session.flush()
    append_many(session, who, [{"action": "group.create", "entity": "sharing_group",
                                "key": group_key,
                                "after": {"key": group_key, "name": name, "owner": owner_key}}])
    return _describe(group, owner_key, [])


def add_members(session: Session, key: str, orgs: list[str], *,
                who: Who = CLI) -> dict[str, Any]:
    """Add organisations to a group: they read its AMBER records from the next request. All
    or nothing: an unknown organisation or one already in the group refuses the lot."""
    group = _group(session, key)
    wanted = _orgs(session, orgs)
    present = set(session.scalars(select(SharingGroupMember.org_id).where(
        SharingGroupMember.group_id == group.id, SharingGroupMember.org_id.in_(wanted.values()))))
    already = [k for k, oid in wanted.items() if oid in present]
    if already:
        raise SharingError(f"{', '.join(already)} already in sharing group {group.key}",
                           "conflict")
    session.add_all(SharingGroupMember(group_id=group.id, org_id=oid) for oid in wanted.values())
    session.flush()
    append_many(session, who, [{"action": "group.member.add", "entity": "sharing_group",
                                "key": group.key, "after": {"org": k}} for k in wanted])
    return show_group(session, group.key)


def remove_members(session: Session, key: str, orgs: list[str], *,
                   who: Who = CLI) -> dict[str, Any]:
    """Remove organisations from a group: from the next request they no longer read its AMBER
    records (unless another rule lets them). All or nothing, as add_members."""
    group = _group(session, key)
    wanted = _orgs(session, orgs)
    rows = {m.org_id: m for m in session.scalars(select(SharingGroupMember).where(
        SharingGroupMember.group_id == group.id, SharingGroupMember.org_id.in_(wanted.values())))}
    absent = [k for k, oid in wanted.items() if oid not in rows]
    if absent:
        raise SharingError(f"{', '.join(absent)} not in sharing group {group.key}", "unknown")
    for row in rows.values():
        session.delete(row)
    session.flush()
    append_many(session, who, [{"action": "group.member.remove", "entity": "sharing_group",
                                "key": group.key, "before": {"org": k}} for k in wanted])
    return show_group(session, group.key)
