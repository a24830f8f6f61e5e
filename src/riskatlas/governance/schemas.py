"""Inputs and answers of the governance API (proposals, positions, comments, meetings)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskatlas.catalog.schemas import Key


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProposalIn(_In):
    kind: Literal["create", "change", "retire"]
    entity: Literal["risks", "measures"]
    key: Key | None = None
    title: str = Field(min_length=1, max_length=500)
    comment: str | None = Field(default=None, max_length=10_000)
    deadline: date | None = None
    changes: dict[str, Any] | None = Field(
        default=None, description="For a change: dotted-path field changes "
        "({\"likelihood\": \"High\", \"title.ru\": \"...\"}).")
    record: dict[str, Any] | None = Field(default=None, description="For a create: the "
                                          "proposed record, in the export contract.")


class PositionIn(_In):
    stance: Literal["endorse", "object", "abstain", "reserve"]
    comment: str | None = Field(default=None, max_length=10_000)


class CommentIn(_In):
    text: str = Field(min_length=1, max_length=10_000)


class MeetingIn(_In):
    kind: Literal["summit", "ministerial", "expert"]
    date: date
    place: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=500)
    participants: list[str] = Field(default_factory=list, max_length=200)
    # proposal ids: within the database's integer, so a huge number is a 422, not a 500
    agenda: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(default_factory=list,
                                                                    max_length=500)


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ProposalSummary(_Out):
    id: int
    kind: str
    entity: str
    key: str
    title: str
    status: str
    stale: bool
    base_version: int | None
    current_version: int | None
    tlp: str
    proposer: str | None
    proposed_by: str
    deadline: str | None
    created_at: str | None
    closed_at: str | None
    result_version: int | None
    stances: dict[str, int]


class PositionOut(_Out):
    state: str
    org: str | None
    stance: str
    comment: str | None
    recorded_by: str
    recorded_at: str | None


class CommentOut(_Out):
    id: int
    org: str | None
    author: str
    text: str
    at: str | None


class ProposalDetail(ProposalSummary):
    comment: str | None
    changes: dict[str, Any] | None
    diff: list[dict[str, Any]]
    members: list[str]
    rule: str
    positions: list[PositionOut]
    history: list[PositionOut]
    comments: list[CommentOut]
    outcome: dict[str, str]
    decision: str | None
    reservations: list[dict[str, Any]]
    meetings: list[int]


class ProposalList(_Out):
    total: int
    items: list[ProposalSummary]


class MeetingSummary(_Out):
    id: int
    kind: str
    date: str
    place: str
    title: str
    participants: list[str]
    agenda_items: int


class MeetingDetail(MeetingSummary):
    agenda: list[ProposalSummary]
    previous: int | None


class MeetingList(_Out):
    total: int
    items: list[MeetingSummary]
