"""Checks of a batch against what is stored: stale files, omitted fields, who may write what.

Part of import phase one (validation): nothing here writes. Every write door (API, CLI, import)
validates through catalog.importer, so these rules hold for all of them:

- An existing record in the input must carry the version it was read at; a different one is a
  conflict (`key: stored version N, file has M`), unless the import is forced.
- A field the input does not carry keeps its stored value: marking, sharing, owner and links are
  never reset by omission (texts keep the languages the input does not carry).
- A writer (a principal; None is the local operator, who holds the database itself) changes only
  records of its own organisation, as an editor; the editors of a measure's lead organisation
  change its status and progress, and nothing else (`lead_may_change`); national assessments
  are written only by editors and analysts of an organisation of that member state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskatlas.catalog import records as rec
from riskatlas.catalog import shapes
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Measure, Risk
from riskatlas.catalog.schemas import MeasureIn, RiskIn
from riskatlas.parties.models import Organisation, State
from riskatlas.sharing.policy import FullAccess, Principal

CHUNK = 500
# The write path's capability to read the stored records in full, whoever writes: validation
# compares an input with what is stored (versions, omitted fields, links to records the writer
# cannot see, which are kept) and never shows it to the writer. Only stored_records uses it
# (tests/test_layers.py fails if any other module touches it); readers get a principal's Scope.
_STORED = FullAccess("validation")
# Shown on export but decided elsewhere: never taken from an input record.
DERIVED = {"risks": shapes.RISK.derived, "measures": shapes.MEASURE.derived}
# Mappings whose keys an input may carry one at a time (a CSV column per language).
MERGED = {"title", "summary", "rationale", "effect"}
# Lists of keys of records on the other side of a link, and which side they name.
LINK_LISTS = {"risks": "risks", "measures": "measures", "rejected_measures": "measures"}


@dataclass(frozen=True)
class Visible:
    """Keys of the records a writer can see."""

    risks: set[str]
    measures: set[str]
ASSESSORS = frozenset({"editor", "analyst", "admin"})


def authored(record: dict[str, Any], entity: str) -> dict[str, Any]:
    """The part of an export record its owner writes (what a version snapshot keeps)."""
    return {k: v for k, v in record.items() if k not in DERIVED[entity]}


def risk_record(risk: RiskIn, matrix: Matrix, owner: str) -> dict[str, Any]:
    """The authored part of a risk's export record, as a version snapshot stores it."""
    return shapes.RISK.snapshot(risk, matrix, {
        "level": matrix.label("level", matrix.level(risk.likelihood, risk.impact)),
        "sources": [s.model_dump() for s in risk.sources], "owner": owner,
        "sharing": risk.sharing.model_dump(),
        # The owner's decisions on links (the read model lists them by key).
        "measures": sorted(risk.measures), "rejected_measures": sorted(risk.rejected_measures),
    })


def measure_record(measure: MeasureIn, matrix: Matrix, owner: str) -> dict[str, Any]:
    return shapes.MEASURE.snapshot(measure, matrix, {
        "sources": [s.model_dump() for s in measure.sources], "owner": owner,
        "sharing": measure.sharing.model_dump(),
    })


def stored_records(
    session: Session, matrix: Matrix, entity: str, keys: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """The stored records among the given keys, in the export shape, read in full (whatever
    the writer may see: for validation only, never an answer)."""
    wanted = sorted(set(keys))
    model: Any = Risk if entity == "risks" else Measure
    present: list[str] = []
    for i in range(0, len(wanted), CHUNK):
        present += session.scalars(select(model.key).where(model.key.in_(wanted[i:i + CHUNK])))
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(present), CHUNK):
        part = present[i:i + CHUNK]
        if entity == "risks":
            rows = rec.risk_records(session, matrix, _STORED.scope(), [Risk.key.in_(part)])
        else:
            rows = rec.measure_records(session, _STORED.scope(), [Measure.key.in_(part)])
        out.update({r["key"]: r for r in rows})
    return out


def merged(stored: dict[str, Any], data: dict[str, Any], entity: str,
           visible: Visible | None = None) -> dict[str, Any]:
    """The input record completed with the stored values of the fields it does not carry.

    `visible`: what the writer can see (None: everything). Its input cannot name the stored
    links to records it cannot see, so those are kept in the lists it gives."""
    # National assessments are not merged: the ones an input carries are set, the others kept.
    out = authored(stored, entity)
    for name, value in data.items():
        if name in MERGED and isinstance(value, dict) and isinstance(out.get(name), dict):
            out[name] = {**out[name], **value}
        elif name in LINK_LISTS and visible is not None and isinstance(value, list):
            seen = visible.risks if LINK_LISTS[name] == "risks" else visible.measures
            given = {str(v).strip().upper() for v in value}
            out[name] = [*value, *(k for k in out.get(name, []) if k not in seen
                                   and k not in given)]
        else:
            out[name] = value
    return out


def version_problem(stored: int, given: Any) -> str | None:
    if isinstance(given, bool) or not isinstance(given, int):
        try:
            given = int(str(given).strip()) if given is not None else None
        except ValueError:
            return f"stored version {stored}, file has {given!r} (not a version number)"
    if given is None:
        return f"stored version {stored}, file has none (export it again, or --force)"
    if given != stored:
        return f"stored version {stored}, file has {given}"
    return None


@dataclass(frozen=True)
class Writer:
    """Who writes, as the rules need it: None fields for the local operator."""

    principal: Principal | None
    state: str | None = None  # the state of the principal's organisation
    state_is_member: bool = False

    @property
    def operator(self) -> bool:
        return self.principal is None

    def may_change(self, owner_key: str | None) -> bool:
        who = self.principal
        return who is None or (who.can_write and owner_key == who.org_key)

    def may_assess(self, state: str) -> str | None:
        """None when this writer may set `state`'s national assessment, else the reason."""
        who = self.principal
        if who is None:
            return None
        if who.anonymous or who.role not in ASSESSORS or who.token_scope == "read":
            return "only editors and analysts of that state's organisations set its assessment"
        if self.state != state or not self.state_is_member:
            return (f"only organisations of {state} set {state}'s national assessment "
                    f"(you are {who.org_key})")
        return None


OPERATOR = Writer(None)

# A measure's lead organisation reports on the work: its editors change these fields of the
# measure and only these; the owner's editors change everything (sharing.policy.may_change).
# The one rule for every door (API, pages, import): docs/sharing.md, "Who changes a record".
LEAD_FIELDS = frozenset({"status", "progress"})


def lead_may_change(who: Principal, lead_key: str | None, changes: Mapping[str, Any]) -> bool:
    """Whether `who` may make `changes` (top-level field -> new value) to a measure led by
    `lead_key`, as an editor of its lead organisation. Retiring it stays the owner's."""
    names = set(changes)
    return (who.can_write and lead_key is not None and who.org_key == lead_key
            and bool(names) and names <= LEAD_FIELDS and changes.get("status") != "retired")


def may_change_measure(who: Principal, measure: dict[str, Any],
                       changes: Mapping[str, Any] | None = None) -> bool:
    """Whether `who` may make `changes` to a measure as read (its `owner` and `lead` keys): an
    editor of its owner changes any field, an editor of its lead the LEAD_FIELDS (`changes`
    None: some change of those, as the measure pages offer)."""
    if changes is None:
        changes = dict.fromkeys(LEAD_FIELDS)
    return ((who.can_write and measure["owner"] == who.org_key)
            or lead_may_change(who, measure.get("lead"), changes))


def writer_for(session: Session, principal: Principal | None) -> Writer:
    if principal is None:
        return OPERATOR
    row = session.execute(select(Organisation.state_code, State.role)
                          .outerjoin(State, State.code == Organisation.state_code)
                          .where(Organisation.id == principal.org_id)).first()
    state, role = row if row is not None else (None, None)
    return Writer(principal, state, role == "member")


def assessment_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    if old is None:
        return True
    return any(old.get(k) != new.get(k) for k in ("likelihood", "impact", "rationale"))
