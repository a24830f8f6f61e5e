"""Proposals, national positions, reservations and meetings.

A proposal names its target record by entity and key (not by id): a proposal to create a
record names one that does not exist yet, and the catalog's versions are kept by key too.
Positions are append-only: a state's current position is its latest row, earlier ones are its
history. Nothing here is ever deleted: rejected and withdrawn proposals are kept.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from riskatlas.db import Base, JSONType, utcnow

KINDS = ("create", "change", "retire")
ENTITIES = ("risks", "measures")
STATUSES = ("open", "adopted", "rejected", "withdrawn")
STANCES = ("endorse", "object", "abstain", "reserve")
MEETING_KINDS = ("summit", "ministerial", "expert")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Proposal(Base):
    __tablename__ = "proposals"
    __table_args__ = (
        Index("ix_proposals_target", "entity", "key"),
        Index("ix_proposals_status", "status"),
        CheckConstraint(_one_of("kind", KINDS), name="kind"),
        CheckConstraint(_one_of("entity", ENTITIES), name="entity"),
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        CheckConstraint("tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')", name="tlp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grouping_code: Mapped[str] = mapped_column(ForeignKey("groupings.code"))
    kind: Mapped[str] = mapped_column(String(8))
    entity: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(32))
    base_version: Mapped[int | None]
    # change: {"set": {dotted path: value}, "diff": [{"path", "before", "after"}]};
    # retire: the same with status retired; create: {"record": the proposed record}.
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType)
    title: Mapped[str] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    proposer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    proposed_by: Mapped[str] = mapped_column(String(64))  # a username, or "local"
    status: Mapped[str] = mapped_column(String(16), default="open")
    deadline: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    result_version: Mapped[int | None]
    # The marking and owner the proposal carries: the target's (a change, a retirement), or
    # the proposed record's (a create: who may see a proposed record is decided by these).
    tlp: Mapped[str] = mapped_column(String(16))
    owner_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    # Why it closed (the rule's verdict, or who withdrew it) and who closed it.
    decision: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(64))


class Position(Base):
    """One state's position as recorded at one moment (append-only)."""

    __tablename__ = "positions"
    __table_args__ = (
        Index("ix_positions_proposal", "proposal_id", "state_code", "recorded_at"),
        CheckConstraint(_one_of("stance", STANCES), name="stance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    stance: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProposalComment(Base):
    __tablename__ = "proposal_comments"
    __table_args__ = (Index("ix_proposal_comments_proposal", "proposal_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Reservation(Base):
    """A state's reservation, kept next to the record version its proposal adopted."""

    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_record", "entity", "key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))  # risks | measures
    key: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code"))
    comment: Mapped[str | None] = mapped_column(Text)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (
        Index("ix_meetings_grouping_date", "grouping_code", "date"),
        CheckConstraint(_one_of("kind", MEETING_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grouping_code: Mapped[str] = mapped_column(ForeignKey("groupings.code"))
    kind: Mapped[str] = mapped_column(String(16))
    date: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    participants: Mapped[list[str]] = mapped_column(JSONType, default=list)  # organisation keys
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeetingItem(Base):
    """A proposal on a meeting's agenda, in agenda order."""

    __tablename__ = "meeting_items"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), primary_key=True,
                                             index=True)
    position: Mapped[int] = mapped_column(default=0)
