"""Two-phase import, phase one: read every file, validate every record, report every problem.

Nothing is written here. `validate` returns a Batch only when the whole input is clean; the
service then writes that batch in one transaction.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskatlas.catalog import checks
from riskatlas.catalog.files import FileError, Item, Problem, add_positions, read_paths
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Actor, Measure, Risk
from riskatlas.catalog.schemas import ActorIn, AssessmentIn, MeasureIn, RiskIn
from riskatlas.parties.models import Organisation, State, User
from riskatlas.sharing.models import SharingGroup
from riskatlas.sharing.policy import Principal, scope_for

MODELS: dict[str, type[BaseModel]] = {"actors": ActorIn, "risks": RiskIn, "measures": MeasureIn}


@dataclass
class Batch:
    actors: list[ActorIn] = field(default_factory=list)
    risks: list[RiskIn] = field(default_factory=list)
    measures: list[MeasureIn] = field(default_factory=list)
    # Filled by validation: the stored records the batch changes (by section and key), who
    # writes, and whether version conflicts were overridden (--force).
    stored: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {"risks": {}, "measures": {}})
    writer: checks.Writer = checks.OPERATOR
    forced: bool = False
    visible: checks.Visible | None = None  # what the writer can see (None: everything)


KEY_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9\-_.]{0,31}$")  # as schemas.Key


class KeyInUse(Exception):
    """A record to create has a key that is already in use (409 at the API)."""


class ImportError_(Exception):  # noqa: N801 - the builtin ImportError means something else
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _field(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "record"


class _Collector:
    """Problems as they are found; positions are worked out once, at the end, and the
    problems come out in file order (files as given, then by line)."""

    def __init__(self) -> None:
        self.pending: list[tuple[Item, tuple[Any, ...], str, Item | None]] = []

    def add(self, item: Item, loc: tuple[Any, ...], reason: str,
            other: Item | None = None) -> None:
        """`other`: an item the reason refers to; its position is appended ("first at ...")."""
        if loc and loc[0] in item.broken:  # its cell was unreadable: reported already
            return
        self.pending.append((item, loc, reason, other))

    def problems(self) -> list[Problem]:
        files = list(dict.fromkeys(
            i.file for item, _, _, other in self.pending for i in (item, other) if i))
        for name in files:
            items = [i for item, _, _, other in self.pending for i in (item, other)
                     if i is not None and i.file == name]
            add_positions(items, Path(name))
        order = {name: n for n, name in enumerate(files)}
        out = []
        for item, loc, reason, other in self.pending:
            if other is not None:
                reason = f"{reason} (first at {other.file}:{other.line})"
            line = item.line_of(loc)
            out.append((order[item.file], line, item.index,
                        Problem(item.file, line, _field(loc), reason)))
        out.sort(key=lambda row: row[:3])
        return [problem for *_, problem in out]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for a batch. Validating or writing 40,000 records
    creates millions of objects that all live to the end, and the collector rescanned them
    over and over (import: 15 s -> 8 s validating, 39 s -> 30 s saving). Reference counting
    still frees everything else; the previous state is restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def validate_items(
    session: Session, matrix: Matrix, items: list[Item], principal: Principal | None = None,
    *, force: bool = False, create: bool = False,
) -> Batch:
    """Validate records, their references and the writer's rights; raise ImportError_ listing
    every problem. `principal` None is the local operator; `force` overrides stale versions;
    `create` refuses keys already in use."""
    with paused_gc():
        return _validate_items(session, matrix, items, checks.writer_for(session, principal),
                               force, create)


def _validate_items(
    session: Session, matrix: Matrix, items: list[Item], writer: checks.Writer, force: bool,
    create: bool,
) -> Batch:
    found = _Collector()
    batch = Batch(writer=writer, forced=force)
    seen: dict[tuple[str, str], Item] = {}
    where: dict[int, Item] = {}
    # Only well-formed keys are looked up (a key with a NUL would be a database error).
    keys = {section: [k for i in items if i.section == section
                      if KEY_PATTERN.match(k := _key_of(i))]
            for section in ("risks", "measures")}
    for section, wanted in keys.items():
        batch.stored[section] = checks.stored_records(session, matrix, section, wanted)
    visible = batch.visible = _visible_keys(session, writer)
    for item in items:
        data = item.data
        stored = batch.stored.get(item.section, {}).get(_key_of(item))
        if stored is not None:
            if create:  # even one a concurrent writer just committed: never an update
                raise KeyInUse(stored["key"])
            stale = checks.version_problem(stored["version"], data.get("version"))
            if stale is not None and not force:
                found.add(item, (stored["key"],), stale)  # reported as `file:line: KEY: ...`
            data = checks.merged(stored, data, item.section, visible)
        try:
            model = MODELS[item.section].model_validate(data, context={"matrix": matrix})
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                reason = err["msg"].removeprefix("Value error, ")
                if err["type"] == "missing":
                    reason = "required field is missing"
                found.add(item, tuple(err["loc"]), reason)
            continue
        key = model.key  # type: ignore[attr-defined]
        if (item.section, key) in seen:
            found.add(item, ("key",), f"{key} is defined twice", seen[(item.section, key)])
            continue
        seen[(item.section, key)] = item
        getattr(batch, item.section).append(model)
        where[id(model)] = item
    # Keys of records that failed validation still count as present, so one bad risk does not
    # also make every measure that links to it report a dangling key.
    named = {section: {_key_of(i) for i in items if i.section == section} for section in MODELS}
    _check_references(session, batch, where, found, named)
    _check_rights(matrix, batch, where, found)
    if found.pending:
        raise ImportError_(found.problems())
    return batch


def _visible_keys(session: Session, writer: checks.Writer) -> checks.Visible | None:
    """The keys of the records the writer can see (None: the local operator sees all)."""
    if writer.principal is None:
        return None
    scope = scope_for(writer.principal)
    return checks.Visible(set(session.scalars(select(Risk.key).where(scope.risks))),
                          set(session.scalars(select(Measure.key).where(scope.measures))))


def _key_of(item: Item) -> str:
    return str(item.data.get("key", "")).strip().upper()


def _check_rights(matrix: Matrix, batch: Batch, where: dict[int, Item],
                  found: _Collector) -> None:
    """Who may write what (see catalog.checks): refused changes are problems like any other."""
    writer = batch.writer
    entries: list[tuple[str, RiskIn | MeasureIn]] = [
        *(("risks", r) for r in batch.risks), *(("measures", m) for m in batch.measures)]
    for section, model in entries:
        item = where[id(model)]
        stored = batch.stored[section].get(model.key)
        who = writer.principal
        if stored is None:
            if model.owner is None and who is not None:
                model.owner = who.org_key
            if not writer.may_change(model.owner):
                found.add(item, ("owner",), _refusal(writer, model.owner, "create records"))
            if model.tlp == "red" and who is not None and who.username is not None \
                    and who.username not in model.sharing.users:
                model.sharing.users.append(who.username)  # a RED record names its author
        else:
            if model.owner is None:
                model.owner = stored["owner"]
            if model.owner != stored["owner"] and not writer.operator:
                found.add(item, ("owner",), "the owner organisation cannot be changed")
            elif _authored_changed(matrix, section, model, stored):
                if not writer.may_change(stored["owner"]) and \
                        not _lead_change(matrix, section, model, stored, writer):
                    found.add(item, ("key",), _refusal(writer, stored["owner"], "change it",
                                                       stored.get("lead")))
                elif model.tlp == "red" and who is not None and \
                        who.username not in model.sharing.users:
                    found.add(item, ("sharing", "users"), "a RED record is read only by the "
                              f"users it names: name yourself ({who.username}), or you could "
                              "no longer read it")
        if isinstance(model, RiskIn):
            _check_assessments(matrix, model, stored, writer, item, found, batch.forced)


def _authored_changed(matrix: Matrix, section: str, model: Any, stored: dict[str, Any]) -> bool:
    snapshot = (checks.risk_record(model, matrix, model.owner) if section == "risks"
                else checks.measure_record(model, matrix, model.owner))
    return snapshot != checks.authored(stored, section)


def _lead_change(matrix: Matrix, section: str, model: Any, stored: dict[str, Any],
                 writer: checks.Writer) -> bool:
    """A change of a measure's lead fields alone, by an editor of its lead organisation
    (checks.lead_may_change): the record with those fields as stored is unchanged."""
    who = writer.principal
    if section != "measures" or who is None or not checks.lead_may_change(
            who, stored.get("lead"), {name: getattr(model, name) for name in checks.LEAD_FIELDS}):
        return False
    rest = model.model_copy(update={name: stored.get(name) for name in checks.LEAD_FIELDS})
    return not _authored_changed(matrix, section, rest, stored)


def _refusal(writer: checks.Writer, owner: str | None, what: str,
             lead: str | None = None) -> str:
    who = writer.principal
    if who is not None and (who.role not in {"editor", "admin"} or who.token_scope == "read"):
        return f"the {who.role} role cannot {what}"
    if who is not None and lead is not None and who.org_key == lead:
        return (f"owned by {owner}: as its lead organisation, {lead} changes only its "
                f"{' and '.join(sorted(checks.LEAD_FIELDS))}")
    return (f"owned by {owner}: only its editors {what}; other organisations propose "
            "changes instead")


def _check_assessments(
    matrix: Matrix, risk: RiskIn, stored: dict[str, Any] | None, writer: checks.Writer,
    item: Item, found: _Collector, forced: bool,
) -> None:
    """Only changed assessments matter: an exported risk carries every state's, unchanged."""
    before = {a["state"]: a for a in (stored or {}).get("assessments", [])}
    for i, assessment in enumerate(risk.assessments):
        old = before.get(assessment.state)
        if old is not None and not assessment_differs(matrix, old, assessment):
            continue
        reason = writer.may_assess(assessment.state)
        if reason is not None:
            found.add(item, ("assessments", i, "state"), reason)
        elif old is not None and not forced:
            stale = checks.version_problem(old["version"], assessment.version)
            if stale is not None:
                found.add(item, ("assessments", i, "version"), stale)


def assessment_differs(matrix: Matrix, old: dict[str, Any], new: AssessmentIn) -> bool:
    """Whether an input assessment changes a stored one (stored ratings are labels)."""
    return (matrix.parse("likelihood", old["likelihood"]) != new.likelihood
            or matrix.parse("impact", old["impact"]) != new.impact
            or old["rationale"] != new.rationale)


def _existing(session: Session, column: Any) -> set[str]:
    return set(session.scalars(select(column)))


def _check_references(
    session: Session, batch: Batch, where: dict[int, Item], found: _Collector,
    named: dict[str, set[str]],
) -> None:
    states = dict(session.execute(select(State.code, State.role)).all())
    orgs = _existing(session, Organisation.key)
    actors = _existing(session, Actor.key) | named["actors"]
    # Records are named through the writer's scope: a hidden record is as unknown as a missing
    # one (neither revealed nor linked). Links to hidden records that are stored stay (the
    # validation put them back into the record, see checks.merged): those the input did not
    # name are not the writer's references.
    seen = batch.visible
    risk_keys = (_existing(session, Risk.key) if seen is None else seen.risks) | named["risks"]
    measure_keys = ((_existing(session, Measure.key) if seen is None else seen.measures)
                    | named["measures"])

    def refs(model: Any, name: str, values: Iterable[str], known: Any, what: str) -> None:
        item = where[id(model)]
        given = item.data.get(name) if name in checks.LINK_LISTS else None
        given_keys = ({str(v).strip().upper() for v in given} if isinstance(given, list)
                      else set())
        section = "risks" if isinstance(model, RiskIn) else "measures"
        stored = batch.stored[section].get(model.key) or {}
        kept = set(stored.get(name, [])) - given_keys if name in checks.LINK_LISTS else set()
        for i, value in enumerate(values):
            if value not in known and value not in kept:
                found.add(item, (*name.split("."), i), f"unknown {what} {value!r}")

    groups = _existing(session, SharingGroup.key)
    users = _existing(session, User.username)
    records: list[RiskIn | MeasureIn] = [*batch.risks, *batch.measures]
    for model in records:
        refs(model, "sharing.groups", model.sharing.groups, groups, "sharing group")
        refs(model, "sharing.orgs", model.sharing.orgs, orgs, "organisation")
        refs(model, "sharing.users", model.sharing.users, users, "user")
    for risk in batch.risks:
        refs(risk, "states", risk.states, states, "state")
        refs(risk, "actors", risk.actors, actors, "actor")
        refs(risk, "measures", risk.measures, measure_keys, "measure")
        refs(risk, "rejected_measures", risk.rejected_measures, measure_keys, "measure")
        for key in sorted(set(risk.measures) & set(risk.rejected_measures)):
            found.add(where[id(risk)], ("rejected_measures",),
                      f"{key} is both accepted (measures) and rejected")
        if risk.owner is not None and risk.owner not in orgs:
            found.add(where[id(risk)], ("owner",), f"unknown organisation {risk.owner!r}")
        for i, assessment in enumerate(risk.assessments):
            if states.get(assessment.state) != "member":
                found.add(where[id(risk)], ("assessments", i, "state"),
                          f"{assessment.state!r} is not a member state of the grouping")
    for measure in batch.measures:
        refs(measure, "states", measure.states, states, "state")
        refs(measure, "risks", measure.risks, risk_keys, "risk")
        for name in ("lead", "owner"):
            value = getattr(measure, name)
            if value is not None and value not in orgs:
                found.add(where[id(measure)], (name,), f"unknown organisation {value!r}")


def validate_files(
    session: Session, matrix: Matrix, paths: list[Path], principal: Principal | None = None,
    *, force: bool = False,
) -> Batch:
    """Read and validate several files and folders as one batch (they may refer to each
    other); a folder reads as `export --output DIR` wrote it (files.read_paths)."""
    try:
        items = read_paths(paths)
    except FileError as exc:
        # Records that could be read around broken cells are validated too, so one pass
        # reports every problem (a broken cell does not hide the rest).
        problems = list(exc.problems)
        if exc.items:
            try:
                validate_items(session, matrix, exc.items, principal, force=force)
            except ImportError_ as more:
                problems += more.problems
        raise ImportError_(in_file_order(problems, exc.items)) from None
    return validate_items(session, matrix, items, principal, force=force)


def in_file_order(problems: list[Problem], items: list[Item]) -> list[Problem]:
    """Problems by file (in the order read) and line."""
    files = list(dict.fromkeys([*(i.file for i in items), *(p.file for p in problems)]))
    order = {name: n for n, name in enumerate(files)}
    return sorted(problems, key=lambda p: (order[p.file], p.line))
