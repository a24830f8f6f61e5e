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

The policy holds by construction: a `Scope` is made here only, by `scope_for` (what one
principal may see) or by a `FullAccess` capability (everything), and every read function
requires one. Sharing sits below the catalog in the layers (docs/layers.md): it imports no
catalog model; the catalog names the tables the policy governs (`govern`, in catalog.models),
and early warning names its events table the same way (`govern_events`, in warning.models).
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import aliased

from riskatlas.parties.principal import (
    ANONYMOUS,
    BODY_STANDINGS,
    GROUPING_ROLES,
    MEMBER_ROLES,
    STATE_ROLES,
    Principal,
)
from riskatlas.sharing.models import RecordShare, SharingGroupMember

__all__ = ["ANONYMOUS", "BODY_STANDINGS", "GROUPING_ROLES", "MEMBER_ROLES", "MEMBER_VIEW",
           "STATE_ROLES",
           "TLP_LEVELS", "FullAccess", "Principal", "Scope", "govern", "govern_events",
           "govern_alerts", "may_change", "scope_for"]

TLP_LEVELS = ("clear", "green", "amber", "amber+strict", "red")
# A viewer of a member state who belongs to no organisation in particular: what every member
# state's user may see, and nothing one organisation holds for itself (AMBER+STRICT, RED,
# grants, sharing groups). For readers that serve no one in particular (a briefing made at the
# command line without --as; the server's reused parts built at start-up). No user and no
# organisation has id 0 (ids start at 1): an org_id of None would compare as IS NULL in the
# SQL and match the grants made to a group or a user.
MEMBER_VIEW = Principal(user_id=0, username="member-viewer", org_id=0, org_key=None,
                        role="viewer", standing="member")
_SEAL = object()  # held by this module alone: the proof that a Scope was made here


@dataclass(frozen=True)
class Scope:
    """SQL conditions selecting the risks, measures and events a principal may see.

    Made by `scope_for` or `FullAccess.scope` only: constructing one directly raises, so no
    caller can hand a read function a home-made "everything"."""

    risks: ColumnElement[bool]
    measures: ColumnElement[bool]
    events: ColumnElement[bool]
    alerts: ColumnElement[bool]
    # the batches of events stored as one file each (warning.models.EventBatch)
    batches: ColumnElement[bool]
    # Whether the scope is everything: values derived from all records (the stored residual
    # level) are then the caller's own.
    complete: bool = False
    # The risks and measures clauses again, as parts whose union they are: what every user of
    # one organisation and standing may see (the same clause object for all of them), and what
    # RED grants give this user alone. Readers that keep the ids a clause allows (the list
    # index) keep them per part, so that a new user of a known organisation costs one small
    # query of its own grants instead of the whole policy over every record.
    risk_parts: tuple[ColumnElement[bool], ...] = ()
    measure_parts: tuple[ColumnElement[bool], ...] = ()
    seal: InitVar[object] = None

    def __post_init__(self, seal: object) -> None:
        if seal is not _SEAL:
            raise TypeError("a Scope comes from sharing.policy.scope_for(principal), or from "
                            "a FullAccess capability; it cannot be built by hand")


class FullAccess:
    """The capability to read every record in full: the complete Scope.

    Two holders, each making its one capability when its module is imported:
    - "operator": the command line's local operator, who holds the database itself
      (riskatlas.cli_options: commands run without --as);
    - "validation": the write path's checks (catalog.checks.stored_records), which compare an
      input with the stored records in full (a link the writer cannot see is kept, a version
      checked) and show nobody what they read.
    A second capability for a holder, or one for any other holder, is refused. No web module
    can reach either: tests/test_layers.py fails if any other module makes a FullAccess or
    touches checks' one, or if a module of the web side imports the command line's modules.
    """

    HOLDERS: ClassVar[frozenset[str]] = frozenset({"operator", "validation"})
    _issued: ClassVar[set[str]] = set()

    def __init__(self, holder: str) -> None:
        if holder not in self.HOLDERS or holder in FullAccess._issued:
            raise PermissionError(f"no full access for {holder!r}: only the command line's "
                                  "operator and the write path's validation hold one, once")
        FullAccess._issued.add(holder)
        self.holder = holder
        self._scope: Scope | None = None
        self._known = 0

    def scope(self) -> Scope:
        # Built on first use, and again once another table is governed (the alerts clause
        # names the alerts model, which may be imported after the capability was made).
        if self._scope is None or self._known != len(_governed):
            self._known = len(_governed)
            self._scope = Scope(true(), true(), true(), _alerts(None, False), true(),
                                complete=True,
                                risk_parts=(true(),), measure_parts=(true(),), seal=_SEAL)
        return self._scope


# The tables of the shared records, named by the catalog (catalog.models calls `govern`).
_governed: dict[str, Any] = {}


def govern(risks: Any, measures: Any) -> None:
    """Name the models of the records the policy governs: the rule reads their `id`, `tlp`
    and `owner_org_id`, and their grants in record_shares (entity "risk" or "measure")."""
    _governed.update(risk=risks, measure=measures)
    scope_for.cache_clear()
    _shared_of.cache_clear()


def govern_events(events: Any, batches: Any) -> None:
    """Name the models of the events (early warning): the same rule over their `id`, `tlp` and
    `owner_org_id`, grants in record_shares under entity "event" (a row of the events table)
    or "event_batch" (a batch of events stored as one file, all of its events under one
    marking). Until they are named, a scope shows no event (only the complete scope does)."""
    _governed.update(event=events, event_batch=batches)
    scope_for.cache_clear()


def govern_alerts(alerts: Any) -> None:
    """Name the model of the alerts (early warning): the same rule over `id`, `tlp` and
    `owner_org_id` (grants under entity "alert"), and one more: of the alerts of one `cell`
    (the same detection computed for several audiences, ranked by `rank`), a reader sees only
    the most complete one they may see, never a less complete copy beside it."""
    _governed.update(alert=alerts)
    scope_for.cache_clear()


def _alerts(who: Principal | None, public_mode: bool) -> ColumnElement[bool]:
    """The alerts clause: visible (everything for the complete scope, `who` None), and no more
    complete alert of the same cell visible."""
    model = _governed.get("alert")
    if model is None:
        return false() if who is not None else true()
    better = aliased(model)
    seen = true() if who is None else _visible(model, "alert", who, public_mode)
    seen_better = true() if who is None else _visible(better, "alert", who, public_mode)
    return and_(seen, ~exists(select(better.id).where(
        better.cell == model.cell, better.rank > model.rank, seen_better)))


def _visible(model: Any, entity: str, who: Principal, public_mode: bool) -> ColumnElement[bool]:
    return or_(_shared(model, entity, who.anonymous, who.org_id, who.standing, public_mode),
               _personal(model, entity, who.user_id))


def _parts(entity: str, who: Principal, public_mode: bool) -> tuple[ColumnElement[bool], ...]:
    """The clause of a governed table for `who`, as (shared, personal): the first is the same
    object for every principal of one organisation and standing."""
    model = _governed[entity]
    return (_shared_of(entity, who.anonymous, who.org_id, who.standing, public_mode),
            _personal(model, entity, who.user_id))


@lru_cache(maxsize=1024)
def _shared_of(entity: str, anonymous: bool, org_id: int | None, standing: str | None,
               public_mode: bool) -> ColumnElement[bool]:
    return _shared(_governed[entity], entity, anonymous, org_id, standing, public_mode)


def _granted(model: Any, entity: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(RecordShare.id).where(
        RecordShare.entity == entity, RecordShare.record_id == model.id, condition))


def _shared(model: Any, entity: str, anonymous: bool, org_id: int | None,
            standing: str | None, public_mode: bool) -> ColumnElement[bool]:
    """CLEAR to AMBER+STRICT: what a principal sees as a user of its organisation."""
    if anonymous:
        return model.tlp == "clear" if public_mode else false()
    own = model.owner_org_id == org_id
    my_groups = select(SharingGroupMember.group_id).where(SharingGroupMember.org_id == org_id)
    amber = [own, _granted(model, entity, RecordShare.group_id.in_(my_groups))]
    if standing in MEMBER_ROLES:
        amber.append(true())
    return or_(
        model.tlp == "clear",
        and_(model.tlp == "green", true() if standing in GROUPING_ROLES else own),
        and_(model.tlp == "amber", or_(*amber)),
        and_(model.tlp == "amber+strict",
             or_(own, _granted(model, entity, RecordShare.org_id == org_id))),
    )


def _personal(model: Any, entity: str, user_id: int | None) -> ColumnElement[bool]:
    """RED: the records shared with this user by name."""
    if user_id is None:
        return false()
    return and_(model.tlp == "red", _granted(model, entity, RecordShare.user_id == user_id))


@lru_cache(maxsize=1024)
def scope_for(who: Principal, public_mode: bool = False) -> Scope:
    """The scope of one principal: the only way a request's reads are filtered.

    Kept per principal (a pure function of it): reusing the same expressions lets the record
    reads reuse their statements. Group memberships and grants are read by the SQL itself."""
    if not _governed:
        raise RuntimeError("no shared records known yet: riskatlas.catalog.models names them")
    events, batches = _governed.get("event"), _governed.get("event_batch")
    risk_parts, measure_parts = _parts("risk", who, public_mode), _parts("measure", who,
                                                                          public_mode)
    return Scope(or_(*risk_parts), or_(*measure_parts),
                 false() if events is None else _visible(events, "event", who, public_mode),
                 _alerts(who, public_mode),
                 false() if batches is None else _visible(batches, "event_batch", who,
                                                          public_mode),
                 risk_parts=risk_parts, measure_parts=measure_parts,
                 seal=_SEAL)


def may_change(who: Principal, owner_org_id: int) -> bool:
    """Only editors and administrators of the owner organisation change a record."""
    return who.can_write and who.org_id == owner_org_id
