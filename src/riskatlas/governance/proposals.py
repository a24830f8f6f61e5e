"""Proposals to create, change or retire a risk or a measure, and the member states' positions.

Who may do what (one place for every door: CLI, API, pages):

- **Propose**: editors and administrators of an organisation of a member state or of a
  regional body (the secretariat), and the local operator. The proposer's state, if it is a
  member, is recorded as endorsing (it may change that position).
- **Take a position** (endorse, object, abstain, reserve): editors and administrators of an
  organisation of a member state, for that state; the local operator for a state it names.
  Partners, observers and the secretariat do not take positions: the secretariat serves the
  members and does not vote. A position may be changed until the proposal closes; every
  position recorded is kept (a state's current position is its latest).
- **Comment**: analysts, editors and administrators of any organisation of the grouping
  (members, partners, the secretariat) who may see the proposal, and the local operator.
- **Rebase, withdraw**: editors and administrators of the proposer's organisation, and the
  local operator; rebase also the secretariat's editors and administrators.
- **Decide** (apply the rule and close the proposal if it has a verdict): editors and
  administrators of a regional body (the secretariat, which keeps the grouping's records),
  administrators of a member state's organisation, and the local operator. Deciding applies
  the grouping's rule; it chooses nothing, so this only says who may make the moment happen.

The owner of a record keeps editing it directly (catalog.edits); a proposal whose base version
is no longer the record's version is then stale and must be rebased before a decision.

An adopted proposal is applied through the catalog's one write path (catalog.edits.write) with
no principal: it is the grouping's decision, not one user's rights. The version it applies to
is the base version (a change committed meanwhile is a Conflict), in the same transaction as
the proposal's status, the reservations and the audit entries.

Visibility: a proposal is visible exactly to those who may see its target record; a proposal to
create a record, to those who could see the proposed record (its marking and owner).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, null, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from riskatlas.audit.service import Who, append_many
from riskatlas.catalog import checks, edits
from riskatlas.catalog.files import Item
from riskatlas.catalog.importer import KeyInUse, validate_items
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Measure, Risk
from riskatlas.catalog.service import DEFAULT_OWNER
from riskatlas.governance import rules
from riskatlas.governance.errors import GovernanceError, NotFound
from riskatlas.governance.models import (
    ENTITIES,
    KINDS,
    STANCES,
    MeetingItem,
    Position,
    Proposal,
    ProposalComment,
    Reservation,
)
from riskatlas.parties.models import Grouping, Organisation, State
from riskatlas.sharing.policy import GROUPING_ROLES, MEMBER_ROLES, Principal, Scope

Conflict = edits.Conflict
LOCAL = "local"  # proposed_by / recorded_by of the local operator
MODELS: dict[str, Any] = {"risks": Risk, "measures": Measure}
TITLE_MAX = 500
COMMENT_MAX = 10_000


def now() -> datetime:
    """The clock of positions and comments (a test may fix it)."""
    return datetime.now(UTC)


def today() -> date:
    return now().date()


# --- who and where ---------------------------------------------------------------------------


def grouping(session: Session) -> Grouping:
    """The grouping this node serves (the first, if a database holds several)."""
    found = session.scalar(select(Grouping).order_by(Grouping.code).limit(1))
    if found is None:
        raise GovernanceError("no grouping: run `riskatlas seed` first")
    return found


def members(session: Session, grouping_code: str) -> list[str]:
    """The member states of a grouping (state codes, sorted)."""
    return list(session.scalars(select(State.code).where(
        State.grouping_code == grouping_code, State.role == "member").order_by(State.code)))


def rule_of(session: Session, grouping_code: str | None = None) -> rules.Rule:
    group = (session.get(Grouping, grouping_code) if grouping_code is not None
             else grouping(session))
    if group is None:
        raise GovernanceError(f"no grouping {grouping_code!r}")
    return rules.parse_rule(group.adoption_rule or "unanimity")


def set_rule(session: Session, who: Who, text: str) -> rules.Rule:
    """Set the grouping's adoption rule (audited); RuleError for a rule that cannot be read,
    or a qualified majority of more states than the members."""
    group = grouping(session)
    rule = rules.check_rule(text, len(members(session, group.code)))
    before = group.adoption_rule
    group.adoption_rule = str(rule)
    append_many(session, who, [{"action": "grouping.rule", "entity": "grouping",
                                "key": group.code, "before": {"adoption_rule": before},
                                "after": {"adoption_rule": str(rule)}}])
    session.flush()
    return rule


def _member_state(session: Session, principal: Principal) -> str | None:
    """The member state a principal's organisation belongs to (None otherwise)."""
    if principal.org_id is None or principal.standing != "member":
        return None
    code: str | None = session.scalar(select(Organisation.state_code)
                                      .where(Organisation.id == principal.org_id))
    return code


def _writes(principal: Principal) -> bool:
    return principal.can_write and principal.org_id is not None


def may_propose(principal: Principal | None) -> bool:
    return principal is None or (_writes(principal) and principal.standing in MEMBER_ROLES)


def _check_may_propose(principal: Principal | None) -> None:
    if not may_propose(principal):
        raise GovernanceError("only editors and administrators of a member state's or a "
                              "regional body's organisation may propose")


def may_decide(principal: Principal | None) -> bool:
    """Whether a principal may ask for a decision (None: the local operator)."""
    if principal is None:
        return True
    return _writes(principal) and (principal.standing == "regional" or (
        principal.standing == "member" and principal.role == "admin"))


def _check_may_decide(principal: Principal | None) -> None:
    if not may_decide(principal):
        raise GovernanceError("only the secretariat's editors and administrators, or an "
                              "administrator of a member state's organisation, may decide")


def position_state(session: Session, principal: Principal | None) -> str | None:
    """The member state whose position this principal records (None: it takes none; the
    local operator names the state each time)."""
    if principal is None or not _writes(principal):
        return None
    return _member_state(session, principal)


def _check_proposer_side(principal: Principal | None, proposal: Proposal, what: str,
                         secretariat: bool = False) -> None:
    if principal is None:
        return
    if _writes(principal) and (principal.org_id == proposal.proposer_org_id
                               or (secretariat and principal.standing == "regional")):
        return
    extra = " or the secretariat" if secretariat else ""
    raise GovernanceError(f"only the proposer's organisation{extra} may {what} a proposal")


# --- visibility -------------------------------------------------------------------------------


def _as_proposed(clause: ColumnElement[bool], model: Any) -> ColumnElement[bool]:
    """The scope's clause for records of `model`, read over the proposal's own marking and
    owner: who could see the proposed record. A record that does not exist has no grants (its
    id is NULL), so only its marking and owner count."""
    table = model.__table__
    columns: dict[str, Any] = {"tlp": Proposal.__table__.c.tlp,
                               "owner_org_id": Proposal.__table__.c.owner_org_id,
                               "id": null()}

    def replace(element: Any, **kw: Any) -> Any:
        if getattr(element, "table", None) is table and getattr(element, "key", None) in columns:
            return columns[element.key]
        return None

    opts: dict[str, Any] = {}
    return visitors.replacement_traverse(clause, opts, replace)


def visible(scope: Scope) -> ColumnElement[bool]:
    """The proposals a scope may see, as a condition on `proposals`."""
    if scope.complete:
        return true()
    targets = [and_(Proposal.entity == "risks", Proposal.key.in_(
                   select(Risk.key).where(scope.risks))),
               and_(Proposal.entity == "measures", Proposal.key.in_(
                   select(Measure.key).where(scope.measures)))]
    existing = or_(*targets)
    proposed = or_(and_(Proposal.entity == "risks", _as_proposed(scope.risks, Risk)),
                   and_(Proposal.entity == "measures", _as_proposed(scope.measures, Measure)))
    # A create is seen as proposed until it is adopted; then the record decides.
    return or_(and_(Proposal.kind != "create", existing),
               and_(Proposal.kind == "create", Proposal.status == "adopted", existing),
               and_(Proposal.kind == "create", Proposal.status != "adopted", proposed))


def _find(session: Session, scope: Scope, proposal_id: int, lock: bool = False) -> Proposal:
    if lock:
        # Take the row's write lock first (a no-op update, as catalog.edits._guard does): two
        # positions, or a position and a decision, on one proposal then serialise.
        session.execute(update(Proposal).where(Proposal.id == proposal_id)
                        .values(status=Proposal.status))
    found = session.scalar(select(Proposal).where(Proposal.id == proposal_id, visible(scope)))
    if found is None:
        raise NotFound(f"no proposal {proposal_id}")
    return found


def _open(proposal: Proposal) -> None:
    if proposal.status != "open":
        raise GovernanceError(f"proposal {proposal.id} is {proposal.status}: it is closed")


# --- reading ----------------------------------------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is None:  # SQLite: stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _current_versions(session: Session, pairs: Iterable[tuple[str, str]]) -> dict[
        tuple[str, str], int]:
    """The stored version of each (entity, key) that exists (a version number only)."""
    out: dict[tuple[str, str], int] = {}
    wanted: dict[str, set[str]] = {}
    for entity, key in pairs:
        wanted.setdefault(entity, set()).add(key)
    for entity, keys in wanted.items():
        model = MODELS[entity]
        for key, version in session.execute(select(model.key, model.version)
                                            .where(model.key.in_(sorted(keys)))):
            out[(entity, key)] = version
    return out


def _stale(proposal: Proposal, current: int | None) -> bool:
    return (proposal.kind != "create" and proposal.status == "open"
            and current != proposal.base_version)


def _org_keys(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(session.execute(select(Organisation.id, Organisation.key)
                                .where(Organisation.id.in_(wanted))).all())


def _diff(proposal: Proposal) -> list[dict[str, Any]]:
    if proposal.kind == "create":
        record = proposal.changes.get("record", {})
        return [{"path": name, "before": None, "after": value}
                for name, value in record.items()]
    diff: list[dict[str, Any]] = proposal.changes.get("diff", [])
    return diff


def _summary(proposal: Proposal, orgs: Mapping[int, str], current: int | None,
             counts: Mapping[str, int]) -> dict[str, Any]:
    return {"id": proposal.id, "grouping": proposal.grouping_code, "kind": proposal.kind,
            "entity": proposal.entity, "key": proposal.key, "title": proposal.title,
            "status": proposal.status, "stale": _stale(proposal, current),
            "base_version": proposal.base_version, "current_version": current,
            "tlp": proposal.tlp, "proposer": orgs.get(proposal.proposer_org_id or 0),
            "proposed_by": proposal.proposed_by, "deadline": _iso(proposal.deadline),
            "created_at": _iso(proposal.created_at), "closed_at": _iso(proposal.closed_at),
            "result_version": proposal.result_version,
            "stances": {s: counts.get(s, 0) for s in STANCES}}


def _current_stances(rows: Iterable[Position]) -> dict[str, Position]:
    """Each state's latest position (rows oldest first: recorded_at, then id)."""
    out: dict[str, Position] = {}
    for row in rows:
        out[row.state_code] = row
    return out


def _positions(session: Session, proposal_ids: list[int]) -> dict[int, list[Position]]:
    out: dict[int, list[Position]] = {i: [] for i in proposal_ids}
    if not proposal_ids:
        return out
    for row in session.scalars(select(Position).where(Position.proposal_id.in_(proposal_ids))
                               .order_by(Position.recorded_at, Position.id)):
        out[row.proposal_id].append(row)
    return out


def list_proposals(session: Session, scope: Scope, *, status: str | None = None,
                   meeting_id: int | None = None) -> list[dict[str, Any]]:
    """The proposals the scope may see, newest first (of one status, or on one meeting's
    agenda, in agenda order), each with its counts of current positions."""
    query = select(Proposal).where(visible(scope))
    if status is not None:
        if status not in ("open", "adopted", "rejected", "withdrawn"):
            raise GovernanceError(f"status: expected open, adopted, rejected or withdrawn, "
                                  f"got {status!r}")
        query = query.where(Proposal.status == status)
    if meeting_id is not None:
        query = (query.join(MeetingItem, MeetingItem.proposal_id == Proposal.id)
                 .where(MeetingItem.meeting_id == meeting_id)
                 .order_by(MeetingItem.position, Proposal.id))
    else:
        query = query.order_by(Proposal.id.desc())
    found = list(session.scalars(query))
    versions = _current_versions(session, ((p.entity, p.key) for p in found))
    orgs = _org_keys(session, (p.proposer_org_id for p in found))
    positions = _positions(session, [p.id for p in found])
    out = []
    for proposal in found:
        counts: dict[str, int] = {}
        for row in _current_stances(positions[proposal.id]).values():
            counts[row.stance] = counts.get(row.stance, 0) + 1
        out.append(_summary(proposal, orgs, versions.get((proposal.entity, proposal.key)),
                            counts))
    return out


def _deadline_passed(proposal: Proposal, on: date | None) -> bool:
    return proposal.deadline is not None and (on or today()) > proposal.deadline


def _outcome(session: Session, proposal: Proposal, current: Mapping[str, Position],
             on: date | None = None) -> rules.Outcome:
    if proposal.status != "open":
        return rules.Outcome(proposal.status if proposal.status != "withdrawn" else "withdrawn",
                             proposal.decision or "")
    return rules.evaluate(rule_of(session, proposal.grouping_code),
                          {s: p.stance for s, p in current.items()},
                          members(session, proposal.grouping_code),
                          _deadline_passed(proposal, on))


def get_proposal(session: Session, matrix: Matrix, scope: Scope, proposal_id: int,
                 on: date | None = None) -> dict[str, Any]:
    """One proposal the scope may see (NotFound otherwise), with its diff, the current
    position of each state, every position recorded (history), the comments, the rule's
    current verdict (`outcome`), its reservations and the meetings that have it on their
    agenda. `on`: the day the deadline is judged on (default today)."""
    del matrix  # the interface's: reads of the record, if any, come with it
    proposal = _find(session, scope, proposal_id)
    rows = _positions(session, [proposal.id])[proposal.id]
    current = _current_stances(rows)
    comments = list(session.scalars(select(ProposalComment).where(
        ProposalComment.proposal_id == proposal.id).order_by(ProposalComment.at,
                                                             ProposalComment.id)))
    orgs = _org_keys(session, [proposal.proposer_org_id, *(r.org_id for r in rows),
                               *(c.org_id for c in comments)])
    version = _current_versions(session, [(proposal.entity, proposal.key)]).get(
        (proposal.entity, proposal.key))
    counts: dict[str, int] = {}
    for row in current.values():
        counts[row.stance] = counts.get(row.stance, 0) + 1

    def position(row: Position) -> dict[str, Any]:
        return {"state": row.state_code, "org": orgs.get(row.org_id or 0),
                "stance": row.stance, "comment": row.comment, "recorded_by": row.recorded_by,
                "recorded_at": _iso(row.recorded_at)}

    group_members = members(session, proposal.grouping_code)
    reservations = session.scalars(select(Reservation).where(
        Reservation.proposal_id == proposal.id).order_by(Reservation.state_code))
    meetings = session.scalars(select(MeetingItem.meeting_id).where(
        MeetingItem.proposal_id == proposal.id).order_by(MeetingItem.meeting_id))
    return {**_summary(proposal, orgs, version, counts),
            "comment": proposal.comment,
            "changes": (proposal.changes.get("record") if proposal.kind == "create"
                        else proposal.changes.get("set", {})),
            "diff": _diff(proposal),
            "members": group_members,
            "rule": str(rule_of(session, proposal.grouping_code)),
            "positions": [position(current[s]) for s in sorted(current)],
            "history": [position(r) for r in rows],
            "comments": [{"id": c.id, "org": orgs.get(c.org_id or 0), "author": c.author,
                          "text": c.text, "at": _iso(c.at)} for c in comments],
            "outcome": _outcome(session, proposal, current, on).as_dict(),
            "decision": proposal.decision, "closed_by": proposal.closed_by,
            "reservations": [{"state": r.state_code, "comment": r.comment,
                              "version": r.version} for r in reservations],
            "meetings": list(meetings)}


def reservations_of(session: Session, scope: Scope, entity: str, key: str
                    ) -> list[dict[str, Any]]:
    """The reservations recorded next to a record the scope may see (NotFound otherwise),
    newest version first: [{"state", "comment", "version", "proposal"}]."""
    if entity not in ENTITIES:
        raise GovernanceError(f"entity: expected risks or measures, got {entity!r}")
    model = MODELS[entity]
    clause = scope.risks if entity == "risks" else scope.measures
    code = key.strip().upper()
    if session.scalar(select(model.id).where(model.key == code, clause)) is None:
        raise NotFound(f"no {entity[:-1]} {key!r}")
    rows = session.scalars(select(Reservation).where(
        Reservation.entity == entity, Reservation.key == code)
        .order_by(Reservation.version.desc(), Reservation.state_code))
    return [{"state": r.state_code, "comment": r.comment, "version": r.version,
             "proposal": r.proposal_id} for r in rows]


# --- writing ----------------------------------------------------------------------------------


def _text(name: str, value: str | None, limit: int, required: bool = False) -> str | None:
    if value is None or not value.strip():
        if required:
            raise GovernanceError(f"{name}: required")
        return None
    if len(value) > limit:
        raise GovernanceError(f"{name}: at most {limit} characters")
    return value.strip()


def _at(record: Mapping[str, Any], path: str) -> Any:
    target: Any = record
    for part in path.split("."):
        if not isinstance(target, Mapping):
            return None
        target = target.get(part)
    return target


def _change_diff(record: Mapping[str, Any], changes: Mapping[str, Any]
                 ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The record with the changes applied, and the diff (only the paths that change)."""
    try:
        data = edits.apply(dict(record), dict(changes))
    except ValueError as exc:
        raise GovernanceError(str(exc)) from None
    diff = [{"path": p, "before": _at(record, p), "after": _at(data, p)} for p in changes
            if _at(record, p) != _at(data, p)]
    return data, diff


def _validate(session: Session, matrix: Matrix, entity: str, data: dict[str, Any],
              create: bool = False) -> Any:
    """The catalog's validation of the record the proposal would write (ImportError_ lists
    every problem), as the grouping writes it (no principal). Nothing is written."""
    item = Item(entity, data, "<proposal>", 0, line=1)
    try:
        return validate_items(session, matrix, [item], None, create=create)
    except KeyInUse as exc:
        raise GovernanceError(f"key: {exc} already exists (propose a change instead)") from None


def create_proposal(
    session: Session, matrix: Matrix, scope: Scope, principal: Principal | None, who: Who, *,
    kind: str, entity: str, key: str, changes: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None, title: str, comment: str | None = None,
    deadline: date | None = None,
) -> dict[str, Any]:
    """Propose to create (`data`: the full record), change (`changes`: dotted-path field
    changes, as catalog.edits.apply takes them) or retire a record. The change is validated
    as the catalog would write it; the diff is kept against the record's current version (the
    base version). Raises GovernanceError, NotFound (a record the scope hides) or the
    catalog's ImportError_ (every problem of the proposed record)."""
    _check_may_propose(principal)
    if kind not in KINDS:
        raise GovernanceError(f"kind: expected create, change or retire, got {kind!r}")
    if entity not in ENTITIES:
        raise GovernanceError(f"entity: expected risks or measures, got {entity!r}")
    heading = _text("title", title, TITLE_MAX, required=True)
    note = _text("comment", comment, COMMENT_MAX)
    if deadline is not None and not isinstance(deadline, date):
        raise GovernanceError("deadline: expected a date (YYYY-MM-DD)")
    group = grouping(session)
    code = (key or str((data or {}).get("key", ""))).strip().upper()
    if not code:
        raise GovernanceError("key: required")
    stored: dict[str, Any]
    if kind == "create":
        if changes:
            raise GovernanceError("changes: a create proposal carries the whole record (data)")
        if not data:
            raise GovernanceError("data: a create proposal needs the proposed record")
        record = dict(data)
        given = str(record.get("key") or code).strip().upper()
        if given != code:
            raise GovernanceError(f"key: the record's key {given!r} is not {code!r}")
        record["key"] = code
        owner = principal.org_key if principal is not None else DEFAULT_OWNER
        if record.get("owner") is None:
            record["owner"] = owner
        elif principal is not None and str(record["owner"]).strip().upper() != owner:
            raise GovernanceError(f"owner: a proposal creates a record owned by your "
                                  f"organisation ({owner})")
        batch = _validate(session, matrix, entity, record, create=True)
        made = (batch.risks or batch.measures)[0]
        tlp = str(made.tlp)
        if tlp == "red":
            raise GovernanceError("tlp: a RED record is for named people only; it cannot "
                                  "be proposed to the grouping")
        owner_key = str(record["owner"]).strip().upper()
        owner_id = session.scalar(select(Organisation.id).where(Organisation.key == owner_key))
        base: int | None = None
        stored = {"record": record}
    else:
        if kind == "retire":
            if changes:
                raise GovernanceError("changes: a retire proposal changes nothing else")
            wanted: Mapping[str, Any] = {"status": "retired"}
        else:
            if not changes:
                raise GovernanceError("changes: give at least one field change "
                                      "(--set FIELD=VALUE)")
            wanted = changes
        target = edits.get(session, matrix, scope, entity, code)
        if target.get("status") == "retired" and kind == "retire":
            raise GovernanceError(f"{code} is already retired")
        applied, diff = _change_diff(target, wanted)
        if not diff:
            raise GovernanceError("changes: the record already has these values; nothing "
                                  "would change")
        _validate(session, matrix, entity, applied)
        tlp = str(target["tlp"])
        owner_id = session.scalar(select(MODELS[entity].owner_org_id)
                                  .where(MODELS[entity].key == code))
        base = int(target["version"])
        stored = {"set": dict(wanted), "diff": diff}
    proposal = Proposal(grouping_code=group.code, kind=kind, entity=entity, key=code,
                        base_version=base, changes=stored, title=heading, comment=note,
                        proposer_org_id=principal.org_id if principal is not None else None,
                        proposed_by=_author(principal), status="open", deadline=deadline,
                        created_at=now(), tlp=tlp, owner_org_id=owner_id)
    session.add(proposal)
    session.flush()
    audit = [{"action": "proposal.create", "entity": "proposal", "key": str(proposal.id),
              "after": {"kind": kind, "entity": entity, "key": code, "base_version": base,
                        "changes": stored, "title": heading, "deadline": _iso(deadline)},
              "detail": note}]
    state = _member_state(session, principal) if principal is not None else None
    if state is not None:
        session.add(Position(proposal_id=proposal.id, state_code=state,
                             org_id=principal.org_id if principal else None, stance="endorse",
                             comment="proposer", recorded_by=_author(principal),
                             recorded_at=proposal.created_at))
        audit.append({"action": "proposal.position", "entity": "proposal",
                      "key": str(proposal.id),
                      "after": {"state": state, "stance": "endorse"}, "detail": "proposer"})
    append_many(session, who, audit)
    session.flush()
    return get_proposal(session, matrix, scope, proposal.id)


def _author(principal: Principal | None) -> str:
    return LOCAL if principal is None else str(principal.username)


def record_position(session: Session, scope: Scope, principal: Principal | None, who: Who,
                    proposal_id: int, stance: str, comment: str | None = None, *,
                    state: str | None = None) -> dict[str, Any]:
    """Record a member state's position on an open proposal; returns the position. The
    state is the principal's (an organisation of a member state); the local operator names
    it (`state`). Earlier positions are kept: the latest is the state's current one."""
    if stance not in STANCES:
        raise GovernanceError(f"stance: expected endorse, object, abstain or reserve, "
                              f"got {stance!r}")
    note = _text("comment", comment, COMMENT_MAX)
    if principal is None:
        if not state:
            raise GovernanceError("state: the local operator names the member state whose "
                                  "position it records")
        code = state.strip().upper()
    else:
        own = _member_state(session, principal)
        if own is None or not _writes(principal):
            raise GovernanceError("only editors and administrators of a member state's "
                                  "organisation take positions (partners and the "
                                  "secretariat may comment)")
        if state is not None and state.strip().upper() != own:
            raise GovernanceError(f"state: you record {own}'s position, not {state}'s")
        code = own
    proposal = _find(session, scope, proposal_id, lock=True)
    _open(proposal)
    if code not in members(session, proposal.grouping_code):
        raise GovernanceError(f"state: {code} is not a member state of "
                              f"{proposal.grouping_code}")
    at = now()
    row = Position(proposal_id=proposal.id, state_code=code,
                   org_id=principal.org_id if principal is not None else None, stance=stance,
                   comment=note, recorded_by=_author(principal), recorded_at=at)
    session.add(row)
    append_many(session, who, [{"action": "proposal.position", "entity": "proposal",
                                "key": str(proposal.id),
                                "after": {"state": code, "stance": stance, "comment": note}}])
    session.flush()
    orgs = _org_keys(session, [row.org_id])
    return {"proposal": proposal.id, "state": code, "org": orgs.get(row.org_id or 0),
            "stance": stance, "comment": note, "recorded_by": row.recorded_by,
            "recorded_at": _iso(at)}


def add_comment(session: Session, scope: Scope, principal: Principal | None, who: Who,
                proposal_id: int, text: str) -> dict[str, Any]:
    """A comment on a proposal the scope may see, open or closed (partners too)."""
    body = _text("text", text, COMMENT_MAX, required=True)
    if principal is not None and not (
            principal.org_id is not None and principal.standing in GROUPING_ROLES
            and principal.role in {"analyst", "editor", "admin"}
            and principal.token_scope in {None, "write"}):
        raise GovernanceError("only analysts, editors and administrators of the grouping's "
                              "organisations may comment")
    proposal = _find(session, scope, proposal_id)
    row = ProposalComment(proposal_id=proposal.id,
                          org_id=principal.org_id if principal is not None else None,
                          author=_author(principal), text=body, at=now())
    session.add(row)
    session.flush()
    append_many(session, who, [{"action": "proposal.comment", "entity": "proposal",
                                "key": str(proposal.id), "after": {"comment": row.id},
                                "detail": body}])
    orgs = _org_keys(session, [row.org_id])
    return {"id": row.id, "proposal": proposal.id, "org": orgs.get(row.org_id or 0),
            "author": row.author, "text": body, "at": _iso(row.at)}


def rebase(session: Session, matrix: Matrix, scope: Scope, principal: Principal | None,
           who: Who, proposal_id: int) -> dict[str, Any]:
    """Recompute a change's diff against the record's current version and make that the base
    version. The positions are kept; the audit entry says they were taken on the old base."""
    proposal = _find(session, scope, proposal_id, lock=True)
    _check_proposer_side(principal, proposal, "rebase", secretariat=True)
    _open(proposal)
    if proposal.kind == "create":
        raise GovernanceError("a create proposal has no base version to rebase")
    target = edits.get(session, matrix, scope, proposal.entity, proposal.key)
    if int(target["version"]) == proposal.base_version:
        raise GovernanceError(f"proposal {proposal.id} is not stale: its base version "
                              f"{proposal.base_version} is the record's")
    wanted = dict(proposal.changes.get("set", {}))
    applied, diff = _change_diff(target, wanted)
    if not diff:
        raise GovernanceError(f"the record's version {target['version']} already has these "
                              "values; withdraw the proposal")
    _validate(session, matrix, proposal.entity, applied)
    before = {"base_version": proposal.base_version, "diff": proposal.changes.get("diff")}
    proposal.base_version = int(target["version"])
    proposal.changes = {"set": wanted, "diff": diff}
    taken = session.scalar(select(func.count()).select_from(Position)
                           .where(Position.proposal_id == proposal.id)) or 0
    append_many(session, who, [{"action": "proposal.rebase", "entity": "proposal",
                                "key": str(proposal.id), "before": before,
                                "after": {"base_version": proposal.base_version,
                                          "diff": diff},
                                "detail": f"{taken} position(s) kept: taken on version "
                                          f"{before['base_version']}"}])
    session.flush()
    return get_proposal(session, matrix, scope, proposal.id)


def withdraw(session: Session, scope: Scope, principal: Principal | None, who: Who,
             proposal_id: int) -> dict[str, Any]:
    """Withdraw an open proposal (kept, with its positions)."""
    proposal = _find(session, scope, proposal_id, lock=True)
    _check_proposer_side(principal, proposal, "withdraw")
    _open(proposal)
    _close(session, proposal, "withdrawn", f"withdrawn by {_author(principal)}", principal, who)
    return _closed(session, scope, proposal)


def _closed(session: Session, scope: Scope, proposal: Proposal) -> dict[str, Any]:
    orgs = _org_keys(session, [proposal.proposer_org_id])
    version = _current_versions(session, [(proposal.entity, proposal.key)]).get(
        (proposal.entity, proposal.key))
    return {**_summary(proposal, orgs, version, {}), "decision": proposal.decision}


def _close(session: Session, proposal: Proposal, status: str, reason: str,
           principal: Principal | None, who: Who, extra: dict[str, Any] | None = None) -> None:
    proposal.status = status
    proposal.closed_at = now()
    proposal.decision = reason
    proposal.closed_by = _author(principal)
    append_many(session, who, [{"action": f"proposal.{status}", "entity": "proposal",
                                "key": str(proposal.id), "before": {"status": "open"},
                                "after": {"status": status, **(extra or {})},
                                "detail": reason}])
    session.flush()


def decide(session: Session, matrix: Matrix, scope: Scope, principal: Principal | None,
           who: Who, proposal_id: int, today: date | None = None) -> dict[str, Any]:
    """Apply the grouping's rule to an open proposal: adopt it (the change is written as a
    new catalog version, the reservations recorded next to it), reject it, or leave it open
    (`outcome` says why). A stale proposal is refused: rebase it first. Returns the proposal
    (get_proposal)."""
    _check_may_decide(principal)
    proposal = _find(session, scope, proposal_id, lock=True)
    _open(proposal)
    if proposal.kind != "create":
        version = _current_versions(session, [(proposal.entity, proposal.key)]).get(
            (proposal.entity, proposal.key))
        if version != proposal.base_version:
            raise GovernanceError(
                f"proposal {proposal.id} is stale: {proposal.key} is at version {version}, "
                f"the proposal at {proposal.base_version}; rebase it first (riskatlas "
                f"proposals rebase {proposal.id}, or POST .../rebase)")
    current = _current_stances(_positions(session, [proposal.id])[proposal.id])
    outcome = _outcome(session, proposal, current, today)
    if outcome.verdict == "pending":
        return get_proposal(session, matrix, scope, proposal.id, today)
    if outcome.verdict == "rejected":
        _close(session, proposal, "rejected", outcome.reason, principal, who)
        return get_proposal(session, matrix, scope, proposal.id, today)
    version = _apply(session, matrix, proposal, who)
    proposal.result_version = version
    reserved = [p for p in current.values() if p.stance == "reserve"]
    for row in reserved:
        session.add(Reservation(entity=proposal.entity, key=proposal.key, version=version,
                                state_code=row.state_code, comment=row.comment,
                                proposal_id=proposal.id))
    _close(session, proposal, "adopted", outcome.reason, principal, who,
           {"result_version": version, "reservations": sorted(p.state_code for p in reserved)})
    return get_proposal(session, matrix, scope, proposal.id, today)


def _apply(session: Session, matrix: Matrix, proposal: Proposal, who: Who) -> int:
    """Write an adopted proposal through the catalog's one write path; the new version."""
    author = Who(f"{proposal.grouping_code} proposal {proposal.id}", who.org, who.address)
    if proposal.kind == "create":
        try:
            edits.write(session, matrix, proposal.entity, dict(proposal.changes["record"]),
                        author, create=True, principal=None)
        except KeyInUse as exc:
            raise GovernanceError(f"key: {exc} was created meanwhile; this proposal can no "
                                  "longer be adopted (withdraw it)") from None
    else:
        # The record as stored, in full (as the write path's validation reads it; nothing of
        # it is shown): links to records the decider cannot see are kept.
        stored = checks.stored_records(session, matrix, proposal.entity, [proposal.key])
        if proposal.key not in stored:
            raise NotFound(f"no {proposal.entity[:-1]} {proposal.key!r}")
        data, _ = _change_diff(stored[proposal.key], proposal.changes.get("set", {}))
        data["version"] = proposal.base_version
        edits.write(session, matrix, proposal.entity, data, author,
                    expected_version=proposal.base_version, principal=None)
    version = _current_versions(session, [(proposal.entity, proposal.key)]).get(
        (proposal.entity, proposal.key))
    if version is None:  # pragma: no cover - the write just made it
        raise GovernanceError(f"{proposal.key} was not written")
    return version


__all__ = ["Conflict", "GovernanceError", "NotFound", "add_comment", "create_proposal",
           "decide", "get_proposal", "grouping", "list_proposals", "may_decide", "may_propose",
           "members", "position_state", "record_position", "rebase", "reservations_of",
           "rule_of", "set_rule", "visible", "withdraw"]
