"""The one visibility policy, as SQL conditions that every read query carries.

Semantics (TLP 2.0; see docs/sharing.md):
- CLEAR: everyone signed in; anonymous visitors too when public mode is on.
- GREEN: every organisation of the grouping, members and partners (and regional bodies such as
  the secretariat); not observers, not anonymous.
- AMBER: organisations of member states and regional bodies, plus organisations in the sharing
  groups named on the record.
- AMBER+STRICT: the owner organisation and the organisations named on the record.
- RED: the users named on the record, nobody else (not even the owner's administrators).
The owner organisation always sees its own records up to AMBER+STRICT. Roles do not widen what a
user may read: an administrator reads exactly what a viewer of the same organisation reads.
A record outside the scope does not exist for the caller (404 at the API, absent from counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from riskatlas.sharing.models import RecordShare, SharingGroupMember

# Every standing a principal can have: a state's role (member, partner, observer), or the
# standing recorded for a body without a state (regional, partner, observer).
STATE_ROLES = ("member", "partner", "observer")
BODY_STANDINGS = ("regional", "partner", "observer")
GROUPING_ROLES = frozenset({"member", "partner", "regional"})
MEMBER_ROLES = frozenset({"member", "regional"})
TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")


@dataclass(frozen=True)
class Principal:
    """Who is asking. `standing` is the role of the user's organisation in the grouping: its
    state's role, or for a body with no state the standing recorded for it (regional for the
    secretariat, partner or observer for another grouping's body)."""

    user_id: int | None = None
    username: str | None = None
    org_id: int | None = None
    org_key: str | None = None
    role: str | None = None  # viewer | analyst | editor | admin
    standing: str | None = None
    token_scope: str | None = None  # read | write for API tokens; None for browser sessions

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    @property
    def can_write(self) -> bool:
        return (not self.anonymous and self.role in {"editor", "admin"}
                and self.token_scope in {None, "write"})


ANONYMOUS = Principal()


@dataclass(frozen=True)
class Scope:
    """SQL conditions selecting the risks and measures a principal may see."""

    risks: ColumnElement[bool]
    measures: ColumnElement[bool]
    # Whether the scope is everything: values derived from all records (the stored residual
    # level) are then the caller's own.
    complete: bool = False

    @classmethod
    def everything(cls) -> Scope:
        """Full access: the local operator at the command line, who holds the database itself."""
        return cls(true(), true(), complete=True)


def _visible(model: Any, entity: str, who: Principal, public_mode: bool) -> ColumnElement[bool]:
    if who.anonymous:
        return model.tlp == "clear" if public_mode else false()

    def granted(condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists(select(RecordShare.id).where(
            RecordShare.entity == entity, RecordShare.record_id == model.id, condition))

    own = model.owner_org_id == who.org_id
    my_groups = select(SharingGroupMember.group_id).where(SharingGroupMember.org_id == who.org_id)
    amber = [own, granted(RecordShare.group_id.in_(my_groups))]
    if who.standing in MEMBER_ROLES:
        amber.append(true())
    return or_(
        model.tlp == "clear",
        and_(model.tlp == "green", true() if who.standing in GROUPING_ROLES else own),
        and_(model.tlp == "amber", or_(*amber)),
        and_(model.tlp == "amber+strict", or_(own, granted(RecordShare.org_id == who.org_id))),
        and_(model.tlp == "red", granted(RecordShare.user_id == who.user_id)),
    )


@lru_cache(maxsize=1024)
def scope_for(who: Principal, public_mode: bool = False) -> Scope:
    """The scope of one principal: the only way a request's reads are filtered.

    Kept per principal (a pure function of it): reusing the same expressions lets the record
    reads reuse their statements. Group memberships and grants are read by the SQL itself."""
    from riskatlas.catalog.models import Measure, Risk

    return Scope(_visible(Risk, "risk", who, public_mode),
                 _visible(Measure, "measure", who, public_mode))


def may_change(who: Principal, owner_org_id: int) -> bool:
    """Only editors and administrators of the owner organisation change a record."""
    return who.can_write and who.org_id == owner_org_id
