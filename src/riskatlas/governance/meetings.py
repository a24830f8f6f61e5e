"""Meetings of the grouping (summit, ministerial, expert) and their agendas of proposals.

A meeting's date, place, title and participants are the grouping's calendar, not records
under a marking: every reader of a scope sees them. Its agenda shows only the proposals the
scope may see (governance.proposals.visible): a partner reads the agenda of a summit without
the proposals about AMBER records.

Who may add a meeting: editors and administrators of a member state's or a regional body's
organisation, and the local operator (principal None).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who, append_many
from riskatlas.governance import proposals
from riskatlas.governance.errors import GovernanceError, NotFound
from riskatlas.governance.models import MEETING_KINDS, Meeting, MeetingItem, Proposal
from riskatlas.parties.models import Organisation
from riskatlas.sharing.policy import MEMBER_ROLES, Principal, Scope

PLACE_MAX = 200
TITLE_MAX = 500


def _day(value: date | str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise GovernanceError(f"date: expected YYYY-MM-DD, got {value!r}") from None


def may_add(principal: Principal | None) -> bool:
    """Whether a principal may add a meeting (None: the local operator)."""
    return principal is None or (principal.can_write and principal.org_id is not None
                                 and principal.standing in MEMBER_ROLES)


def add_meeting(session: Session, who: Who, *, kind: str, date: date | str, place: str,
                title: str, participants: Iterable[str] = (), agenda: Iterable[int] = (),
                principal: Principal | None = None, scope: Scope | None = None) -> int:
    """Add a meeting; returns its id. `participants`: organisation keys; `agenda`: proposal
    ids in agenda order (with `scope`, only proposals that scope may see). `principal` None
    is the local operator."""
    if not may_add(principal):
        raise GovernanceError("only editors and administrators of a member state's or a "
                              "regional body's organisation may add a meeting")
    if kind not in MEETING_KINDS:
        raise GovernanceError(f"kind: expected summit, ministerial or expert, got {kind!r}")
    day = _day(date)
    where = (place or "").strip()
    if not where or len(where) > PLACE_MAX:
        raise GovernanceError(f"place: required, at most {PLACE_MAX} characters")
    heading = (title or "").strip()
    if not heading or len(heading) > TITLE_MAX:
        raise GovernanceError(f"title: required, at most {TITLE_MAX} characters")
    orgs = [str(p).strip().upper() for p in participants]
    if len(set(orgs)) != len(orgs):
        raise GovernanceError("participant: an organisation is named twice")
    known = set(session.scalars(select(Organisation.key).where(Organisation.key.in_(orgs))))
    unknown = [o for o in orgs if o not in known]
    if unknown:
        raise GovernanceError(f"participant: no organisation {', '.join(unknown)}")
    items = [int(i) for i in agenda]
    if len(set(items)) != len(items):
        raise GovernanceError("agenda: a proposal is named twice")
    if items:
        query = select(Proposal.id).where(Proposal.id.in_(items))
        if scope is not None:
            query = query.where(proposals.visible(scope))
        found = set(session.scalars(query))
        missing = [str(i) for i in items if i not in found]
        if missing:
            raise GovernanceError(f"agenda: no proposal {', '.join(missing)}")
    group = proposals.grouping(session)
    meeting = Meeting(grouping_code=group.code, kind=kind, date=day, place=where,
                      title=heading, participants=orgs,
                      created_by=principal.username if principal is not None
                      else proposals.LOCAL)
    session.add(meeting)
    session.flush()
    for position, proposal_id in enumerate(items):
        session.add(MeetingItem(meeting_id=meeting.id, proposal_id=proposal_id,
                                position=position))
    append_many(session, who, [{"action": "meeting.add", "entity": "meeting",
                                "key": str(meeting.id),
                                "after": {"kind": kind, "date": day.isoformat(),
                                          "place": where, "title": heading,
                                          "participants": orgs, "agenda": items}}])
    session.flush()
    return meeting.id


def _summary(meeting: Meeting, agenda: int) -> dict[str, Any]:
    return {"id": meeting.id, "grouping": meeting.grouping_code, "kind": meeting.kind,
            "date": meeting.date.isoformat(), "place": meeting.place, "title": meeting.title,
            "participants": list(meeting.participants or []), "created_by": meeting.created_by,
            "created_at": proposals._iso(meeting.created_at), "agenda_items": agenda}


def _agenda_counts(session: Session, scope: Scope, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(MeetingItem.meeting_id, func.count())
        .join(Proposal, Proposal.id == MeetingItem.proposal_id)
        .where(MeetingItem.meeting_id.in_(ids), proposals.visible(scope))
        .group_by(MeetingItem.meeting_id))
    return {meeting_id: int(n) for meeting_id, n in rows}


def list_meetings(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Every meeting, latest first, with the number of agenda items the scope may see."""
    found = list(session.scalars(select(Meeting).order_by(Meeting.date.desc(),
                                                          Meeting.id.desc())))
    counts = _agenda_counts(session, scope, [m.id for m in found])
    return [_summary(m, counts.get(m.id, 0)) for m in found]


def get_meeting(session: Session, scope: Scope, meeting_id: int) -> dict[str, Any]:
    """One meeting with its `agenda`: the proposals the scope may see, in agenda order (as
    list_proposals gives them). NotFound for no such meeting."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"no meeting {meeting_id}")
    agenda = proposals.list_proposals(session, scope, meeting_id=meeting.id)
    previous = _previous(session, meeting)
    return {**_summary(meeting, len(agenda)), "agenda": agenda,
            "previous": previous.id if previous is not None else None}


def _previous(session: Session, meeting: Meeting) -> Meeting | None:
    earlier = or_(Meeting.date < meeting.date,
                  and_(Meeting.date == meeting.date, Meeting.id < meeting.id))
    found: Meeting | None = session.scalar(
        select(Meeting).where(Meeting.grouping_code == meeting.grouping_code, earlier)
        .order_by(Meeting.date.desc(), Meeting.id.desc()).limit(1))
    return found


def previous_meeting(session: Session, scope: Scope, meeting_id: int) -> dict[str, Any] | None:
    """The latest earlier meeting of the same grouping (an earlier date, or the same date and
    added before), as get_meeting gives it; None for the first meeting."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"no meeting {meeting_id}")
    previous = _previous(session, meeting)
    return None if previous is None else get_meeting(session, scope, previous.id)
