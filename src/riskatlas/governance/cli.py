"""`riskatlas proposals ...` and `riskatlas meetings ...`: thin commands over governance."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from riskatlas.catalog import edits
from riskatlas.catalog.importer import ImportError_
from riskatlas.catalog.matrix import active_matrix
from riskatlas.cli_options import (
    CLI,
    As,
    Db,
    Fmt,
    Sets,
    acting,
    err,
    fail,
    option_date,
    report,
    runtime,
    scope_of,
)
from riskatlas.governance import meetings as meeting_service
from riskatlas.governance import proposals as service
from riskatlas.governance.errors import GovernanceError, NotFound
from riskatlas.governance.rules import RuleError
from riskatlas.output import Format, emit

proposals_app = typer.Typer(help="Proposals to change the catalog, national positions and "
                            "decisions by the grouping's adoption rule.", no_args_is_help=True)
meetings_app = typer.Typer(help="Meetings (summit, ministerial, expert) and their briefing "
                           "packs.", no_args_is_help=True)

PROPOSAL_COLUMNS = ("id", "kind", "entity", "key", "title", "status", "stale", "deadline",
                    "proposer")
MEETING_COLUMNS = ("id", "date", "kind", "place", "title", "agenda_items")


class Kind(StrEnum):
    create = "create"
    change = "change"
    retire = "retire"


class Entity(StrEnum):
    risks = "risks"
    measures = "measures"


class Stance(StrEnum):
    endorse = "endorse"
    object = "object"
    abstain = "abstain"
    reserve = "reserve"


class MeetingKind(StrEnum):
    summit = "summit"
    ministerial = "ministerial"
    expert = "expert"


ProposalId = Annotated[int, typer.Argument(help="The proposal's id.", min=1, max=2**31 - 1)]
Comment = Annotated[str | None, typer.Option(help="A comment kept with it.")]


def _record_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        fail(f"--file: {path}: {exc}", 2)
    if not isinstance(doc, dict):
        fail(f"--file: {path}: expected one record as a mapping", 2)
    return doc


def _show_table(found: dict[str, Any]) -> None:
    console = Console()
    heading = {k: found[k] for k in ("id", "kind", "entity", "key", "title", "status",
                                     "stale", "base_version", "current_version", "rule",
                                     "deadline", "proposer", "proposed_by", "created_at",
                                     "closed_at", "result_version", "decision")}
    emit(heading, Format.table, title=f"Proposal {found['id']}")
    outcome = found["outcome"]
    console.print(f"[bold]Outcome:[/bold] {outcome['verdict']}: {outcome['reason']}",
                  highlight=False)
    for change in found["diff"]:
        console.print(f"  {change['path']}: {change['before']!r} -> {change['after']!r}",
                      highlight=False, markup=False)
    positions = {p["state"]: p for p in found["positions"]}
    for state in found["members"]:
        p = positions.get(state)
        text = "-" if p is None else f"{p['stance']} ({p['recorded_by']}, {p['recorded_at']})"
        note = f": {p['comment']}" if p is not None and p["comment"] else ""
        console.print(f"  {state}: {text}{note}", highlight=False, markup=False)
    for c in found["comments"]:
        console.print(f"  [{c['at']}] {c['author']} ({c['org'] or '-'}): {c['text']}",
                      highlight=False, markup=False)
    for r in found["reservations"]:
        console.print(f"  reservation {r['state']} (v{r['version']}): {r['comment'] or ''}",
                      highlight=False, markup=False)


def _done(found: dict[str, Any], fmt: Format) -> None:
    if fmt is Format.table:
        _show_table(found)
    else:
        emit(found, fmt)


@proposals_app.command("list")
def list_(
    db: Db = None, fmt: Fmt = Format.table,
    status: Annotated[str | None, typer.Option(help="Only this status (open, adopted, "
                                               "rejected, withdrawn).")] = None,
    meeting: Annotated[int | None, typer.Option(help="Only the agenda of this meeting.",
                                                min=1, max=2**31 - 1)] = None,
    as_user: As = None,
) -> None:
    """List the proposals you may see (those about records you may see), newest first."""
    with runtime(db).transaction() as session:
        principal, _ = acting(session, as_user)
        try:
            rows = service.list_proposals(session, scope_of(principal), status=status,
                                          meeting_id=meeting)
        except GovernanceError as exc:
            fail(str(exc), 2)
    if fmt is Format.table:
        rows = [{**r, "stale": "yes" if r["stale"] else ""} for r in rows]
    emit(rows, fmt, PROPOSAL_COLUMNS, title=f"{len(rows)} proposal(s)")


@proposals_app.command("show")
def show(proposal_id: ProposalId, db: Db = None, fmt: Fmt = Format.table,
         as_user: As = None) -> None:
    """One proposal: its diff, each member's current position, comments and the rule's
    current verdict."""
    rt = runtime(db)
    with rt.transaction() as session:
        principal, _ = acting(session, as_user)
        try:
            found = service.get_proposal(session, active_matrix(rt.settings),
                                         scope_of(principal), proposal_id)
        except NotFound as exc:
            fail(str(exc), 1)
    _done(found, fmt)


@proposals_app.command("create")
def create(
    entity: Annotated[Entity, typer.Option(help="What it is about.")],
    kind: Annotated[Kind, typer.Option(help="Create, change or retire a record.")],
    title: Annotated[str, typer.Option(help="A short title for the proposal.")],
    key: Annotated[str | None, typer.Option(help="The record's key (a create may take it "
                                            "from --file).")] = None,
    sets: Sets = None,
    file: Annotated[Path | None, typer.Option("--file", help="For a create: a YAML/JSON file "
                                              "holding the proposed record.")] = None,
    comment: Comment = None,
    deadline: Annotated[str | None, typer.Option(help="Last day for positions "
                                                 "(YYYY-MM-DD).")] = None,
    db: Db = None, fmt: Fmt = Format.table, as_user: As = None,
) -> None:
    """Propose a change (--set FIELD=VALUE ...), a new record (--file, and/or --set) or a
    retirement. Prints the new proposal's id alone on the last line."""
    day = option_date("--deadline", deadline)
    try:
        changes = edits.parse_assignments(sets or [])
    except ValueError as exc:
        fail(f"--set: {exc}", 2)
    data: dict[str, Any] | None = None
    if kind is Kind.create:
        base = _record_file(file) if file is not None else {}
        try:
            data = edits.apply(base, changes, locked=edits.DERIVED_FIELDS)
        except ValueError as exc:
            fail(f"--set: {exc}", 2)
        changes = {}
    elif file is not None:
        fail("--file: only a create proposal takes a record file (use --set)", 2)
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            principal, author = acting(session, as_user)
            found = service.create_proposal(
                session, active_matrix(rt.settings), scope_of(principal), principal, author,
                kind=kind.value, entity=entity.value, key=key or "", changes=changes or None,
                data=data, title=title, comment=comment, deadline=day)
    except ImportError_ as exc:
        report(exc.problems)
    except NotFound as exc:
        fail(str(exc), 2)
    except GovernanceError as exc:
        fail(str(exc), 2)
    if fmt is not Format.table:
        emit(found, fmt)
    else:
        err.print(f"Proposal {found['id']}: {found['kind']} {found['key']} "
                  f"({found['outcome']['verdict']}).", highlight=False)
    sys.stdout.write(f"{found['id']}\n")


@proposals_app.command("position")
def position(
    proposal_id: ProposalId,
    stance: Annotated[Stance, typer.Argument(help="endorse, object, abstain or reserve.")],
    comment: Comment = None,
    state: Annotated[str | None, typer.Option(help="The member state (ISO3) whose position "
                                              "the local operator records (with --as: the "
                                              "user's state).")] = None,
    db: Db = None, as_user: As = None,
) -> None:
    """Record your member state's position on an open proposal (it may be changed until the
    proposal closes; every position is kept)."""
    with runtime(db).transaction() as session:
        principal, author = acting(session, as_user)
        try:
            found = service.record_position(session, scope_of(principal), principal, author,
                                            proposal_id, stance.value, comment, state=state)
        except NotFound as exc:
            fail(str(exc), 1)
        except GovernanceError as exc:
            fail(str(exc), 2)
    err.print(f"Proposal {found['proposal']}: {found['state']} {found['stance']}.",
              highlight=False)


@proposals_app.command("comment")
def comment_(
    proposal_id: ProposalId,
    text: Annotated[str, typer.Argument(help="The comment.")],
    db: Db = None, as_user: As = None,
) -> None:
    """Comment on a proposal (partners too)."""
    with runtime(db).transaction() as session:
        principal, author = acting(session, as_user)
        try:
            service.add_comment(session, scope_of(principal), principal, author, proposal_id,
                                text)
        except NotFound as exc:
            fail(str(exc), 1)
        except GovernanceError as exc:
            fail(str(exc), 2)
    err.print(f"Comment added to proposal {proposal_id}.")


def _step(name: str, proposal_id: int, db: str | None, as_user: str | None,
          fmt: Format) -> None:
    rt = runtime(db)
    with rt.transaction() as session:
        principal, author = acting(session, as_user)
        scope, matrix = scope_of(principal), active_matrix(rt.settings)
        try:
            if name == "rebase":
                found = service.rebase(session, matrix, scope, principal, author, proposal_id)
            elif name == "decide":
                found = service.decide(session, matrix, scope, principal, author, proposal_id)
            else:
                found = service.withdraw(session, scope, principal, author, proposal_id)
        except NotFound as exc:
            fail(str(exc), 1)
        except (GovernanceError, edits.Conflict) as exc:
            fail(str(exc), 2)
        except ImportError_ as exc:
            report(exc.problems)
    if fmt is not Format.table:
        emit(found, fmt)
        return
    if name == "rebase":
        err.print(f"Proposal {proposal_id} rebased on version {found['base_version']}.")
    elif name == "decide":
        outcome = found["outcome"]
        err.print(f"Proposal {proposal_id}: {found['status']} ({outcome['reason']}).",
                  highlight=False, markup=False)
    else:
        err.print(f"Proposal {proposal_id} withdrawn.")


@proposals_app.command("rebase")
def rebase(proposal_id: ProposalId, db: Db = None, fmt: Fmt = Format.table,
           as_user: As = None) -> None:
    """Recompute a stale proposal's diff against the record's current version (positions
    are kept; the audit trail says they were taken on the old version)."""
    _step("rebase", proposal_id, db, as_user, fmt)


@proposals_app.command("decide")
def decide(proposal_id: ProposalId, db: Db = None, fmt: Fmt = Format.table,
           as_user: As = None) -> None:
    """Apply the grouping's adoption rule: adopt (the change becomes a new catalog version,
    reservations recorded next to it), reject, or leave it open and say why."""
    _step("decide", proposal_id, db, as_user, fmt)


@proposals_app.command("withdraw")
def withdraw(proposal_id: ProposalId, db: Db = None, fmt: Fmt = Format.table,
             as_user: As = None) -> None:
    """Withdraw an open proposal (it is kept, with its positions)."""
    _step("withdraw", proposal_id, db, as_user, fmt)


@proposals_app.command("rule")
def rule(
    value: Annotated[str | None, typer.Argument(
        metavar="[RULE]", help="unanimity, consensus-minus-one or qualified-majority:K; "
        "without it, show the rule.")] = None,
    db: Db = None,
) -> None:
    """Show or set the grouping's adoption rule (setting it is audited; the local operator
    only)."""
    with runtime(db).transaction() as session:
        try:
            if value is None:
                current = service.rule_of(session)
            else:
                current = service.set_rule(session, CLI, value)
        except (RuleError, GovernanceError) as exc:
            fail(str(exc), 2)
    sys.stdout.write(f"{current}\n")


@meetings_app.command("add")
def meetings_add(
    kind: Annotated[MeetingKind, typer.Option(help="summit, ministerial or expert.")],
    day: Annotated[str, typer.Option("--date", help="The meeting's date (YYYY-MM-DD).")],
    place: Annotated[str, typer.Option(help="Where it is held.")],
    title: Annotated[str, typer.Option(help="Its title.")],
    participant: Annotated[list[str] | None, typer.Option(
        help="An organisation key taking part (repeatable).")] = None,
    agenda: Annotated[list[int] | None, typer.Option(
        help="A proposal id on the agenda, in order (repeatable).")] = None,
    db: Db = None, as_user: As = None,
) -> None:
    """Add a meeting; prints its id alone on the last line."""
    when = option_date("--date", day)
    assert when is not None
    with runtime(db).transaction() as session:
        principal, author = acting(session, as_user)
        try:
            made = meeting_service.add_meeting(
                session, author, kind=kind.value, date=when, place=place, title=title,
                participants=participant or (), agenda=agenda or (), principal=principal,
                scope=None if principal is None else scope_of(principal))
        except GovernanceError as exc:
            fail(str(exc), 2)
    err.print(f"Meeting {made} added.")
    sys.stdout.write(f"{made}\n")


@meetings_app.command("list")
def meetings_list(db: Db = None, fmt: Fmt = Format.table, as_user: As = None) -> None:
    """List the meetings, latest first (agenda items: those you may see)."""
    with runtime(db).transaction() as session:
        principal, _ = acting(session, as_user)
        rows = meeting_service.list_meetings(session, scope_of(principal))
    emit(rows, fmt, MEETING_COLUMNS, title=f"{len(rows)} meeting(s)")


@meetings_app.command("show")
def meetings_show(
    meeting_id: Annotated[int, typer.Argument(help="The meeting's id.", min=1, max=2**31 - 1)],
    db: Db = None, fmt: Fmt = Format.table, as_user: As = None,
) -> None:
    """One meeting with its agenda (the proposals you may see)."""
    with runtime(db).transaction() as session:
        principal, _ = acting(session, as_user)
        try:
            found = meeting_service.get_meeting(session, scope_of(principal), meeting_id)
        except NotFound as exc:
            fail(str(exc), 1)
    if fmt is not Format.table:
        emit(found, fmt)
        return
    agenda = found.pop("agenda")
    found["participants"] = ", ".join(found["participants"])
    emit(found, fmt, title=f"Meeting {found['id']}")
    emit(agenda, fmt, PROPOSAL_COLUMNS, title="Agenda")
