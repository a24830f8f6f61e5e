"""CLI for national assessments and for the risk owner's decisions on links."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from riskatlas.catalog import assessments, edits, queries
from riskatlas.catalog.importer import ImportError_
from riskatlas.catalog.matrix import active_matrix
from riskatlas.cli_options import As, Db, Fmt, acting, err, fail, report, runtime, scope_of
from riskatlas.output import Format, emit

assessments_app = typer.Typer(help="National assessments: each member state's own rating.",
                              no_args_is_help=True)
links_app = typer.Typer(help="Links between risks and measures, decided by the risk's owner.",
                        no_args_is_help=True)
Version = Annotated[int | None, typer.Option(
    "--version", help="The version you are changing (as `assessments show` prints it); "
    "required to change or remove an existing assessment.")]


@assessments_app.command("set")
def assessments_set(
    key: str, state: str,
    likelihood: Annotated[str | None, typer.Option(help="A likelihood label of the matrix.")]
    = None,
    impact: Annotated[str | None, typer.Option(help="An impact label of the matrix.")] = None,
    rationale_en: Annotated[str | None, typer.Option("--rationale-en",
                                                     help="Why, in English.")] = None,
    rationale_ru: Annotated[str | None, typer.Option("--rationale-ru",
                                                     help="Why, in Russian.")] = None,
    version: Version = None, as_user: As = None, db: Db = None,
) -> None:
    """Set STATE's national assessment of risk KEY (fields not given keep their value)."""
    body: dict[str, Any] = {k: v for k, v in (("likelihood", likelihood), ("impact", impact))
                            if v is not None}
    texts = {lang: v for lang, v in (("en", rationale_en), ("ru", rationale_ru)) if v}
    if texts:
        body["rationale"] = texts
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            principal, author = acting(session, as_user)
            record = assessments.put(session, active_matrix(rt.settings), scope_of(principal),
                                     principal, key, state, body, author, version)
    except ImportError_ as exc:
        report(exc.problems)
    except (queries.NotFound, assessments.Refused, assessments.Stale) as exc:
        fail(str(exc), 2)
    err.print(f"Saved {record['state']}'s assessment of {record['risk']} as version "
              f"{record['version']}.", highlight=False)


@assessments_app.command("show")
def assessments_show(key: str, state: str, db: Db = None, fmt: Fmt = Format.table,
                     lang: Annotated[str, typer.Option(help="Language of texts.")] = "en",
                     as_user: As = None) -> None:
    """Show STATE's national assessment of risk KEY."""
    rt = runtime(db)
    with rt.transaction() as session:
        principal, _ = acting(session, as_user)
        try:
            record = assessments.get(session, active_matrix(rt.settings), scope_of(principal),
                                     key, state)
        except queries.NotFound as exc:
            fail(str(exc))
    emit(record, fmt, lang=lang, title=f"{record['risk']} · {record['state']}")


@assessments_app.command("history")
def assessments_history(key: str, state: str, db: Db = None,
                        fmt: Fmt = Format.table, as_user: As = None) -> None:
    """Show every version of STATE's national assessment of risk KEY."""
    rt = runtime(db)
    with rt.transaction() as session:
        principal, _ = acting(session, as_user)
        try:
            versions = assessments.history(session, scope_of(principal), key, state)
        except queries.NotFound as exc:
            fail(str(exc))
    if not versions:
        fail(f"no assessment of {key.upper()} by {state.upper()} was ever recorded")
    emit(versions, fmt, ("version", "change", "changed_at", "changed_by"))


@assessments_app.command("remove")
def assessments_remove(key: str, state: str, version: Version = None, as_user: As = None,
                       db: Db = None) -> None:
    """Remove STATE's national assessment of risk KEY (its history stays)."""
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            principal, author = acting(session, as_user)
            assessments.remove(session, active_matrix(rt.settings), scope_of(principal),
                               principal, key, state, author, version)
    except (queries.NotFound, assessments.Refused, assessments.Stale) as exc:
        fail(str(exc), 2)
    err.print(f"Removed {state.upper()}'s assessment of {key.upper()}.", highlight=False)


@links_app.command("list")
def links_list(
    key: Annotated[str, typer.Argument(help="The risk.")], db: Db = None,
    fmt: Fmt = Format.table, as_user: As = None,
) -> None:
    """List the links of risk KEY to measures, with their status."""
    rt = runtime(db)
    with rt.transaction() as session:
        principal, _ = acting(session, as_user)
        try:
            record = queries.get_risk(session, active_matrix(rt.settings), scope_of(principal), key)
        except queries.NotFound as exc:
            fail(str(exc))
    emit(record["links"], fmt, ("measure", "status"), title=f"{record['key']}: links")


def _decide(key: str, measure: str, decision: str, db: str | None, as_user: str | None,
            version: int | None) -> None:
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            principal, author = acting(session, as_user)
            record = edits.decide(session, active_matrix(rt.settings), scope_of(principal), key,
                                  measure, decision, author, version, rt.settings.aggregation,
                                  principal)
    except ImportError_ as exc:
        report(exc.problems)
    except (queries.NotFound, edits.Conflict, ValueError) as exc:
        fail(str(exc), 2)
    done = {"accept": "Accepted", "reject": "Rejected", "remove": "Removed"}[decision]
    err.print(f"{done} the link {record['key']} -> {measure.upper()}; "
              f"{record['key']} is now version {record['version']}.", highlight=False)


RiskVersion = Annotated[int | None, typer.Option(
    "--version", help="Only if the risk is still at this version.")]


@links_app.command("accept")
def links_accept(key: str, measure: str, version: RiskVersion = None, as_user: As = None,
                 db: Db = None) -> None:
    """Accept the link from risk KEY to MEASURE: it then counts in the residual rating."""
    _decide(key, measure, "accept", db, as_user, version)


@links_app.command("reject")
def links_reject(key: str, measure: str, version: RiskVersion = None, as_user: As = None,
                 db: Db = None) -> None:
    """Reject the link from risk KEY to MEASURE (kept, marked rejected)."""
    _decide(key, measure, "reject", db, as_user, version)


@links_app.command("remove")
def links_remove(key: str, measure: str, version: RiskVersion = None, as_user: As = None,
                 db: Db = None) -> None:
    """Remove the link from risk KEY to MEASURE."""
    _decide(key, measure, "remove", db, as_user, version)
