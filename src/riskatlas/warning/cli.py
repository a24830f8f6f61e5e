"""`riskatlas events import|delete|list|stats`: thin commands over warning.service."""

from __future__ import annotations

import codecs
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from riskatlas.cli_options import (
    CLI,
    As,
    Db,
    Fmt,
    acting,
    err,
    fail,
    option_date,
    runtime,
    scope_of,
)
from riskatlas.output import Format, emit
from riskatlas.warning import countries, service
from riskatlas.warning.ingest import EventImportError

events_app = typer.Typer(help="Events for early warning: ACLED, UCDP GED, GDELT, field "
                         "reports.", no_args_is_help=True)
EVENT_COLUMNS = ("date", "source", "country", "admin1", "event_type", "sub_type",
                 "fatalities", "events", "tlp")
PROGRESS_BYTES = 5 << 20  # files smaller than this import without a progress bar


class EventFormat(StrEnum):
    acled = "acled"
    acled_weekly = "acled-weekly"
    ucdp_ged = "ucdp-ged"
    gdelt = "gdelt"


class Tlp(StrEnum):
    clear = "clear"
    green = "green"
    amber = "amber"
    amber_strict = "amber+strict"
    red = "red"


Source = Annotated[str | None, typer.Option(help="Only this source (acled, acled-weekly, "
                                            "ucdp-ged, gdelt, report).")]
Country = Annotated[str | None, typer.Option(help="Only this country (ISO3).")]
Since = Annotated[str | None, typer.Option(help="Only events on or after this date "
                                           "(YYYY-MM-DD).")]
Admin1 = Annotated[str | None, typer.Option(help="Only this admin1 (as stored: Batken).")]
EventType = Annotated[str | None, typer.Option(help="Only this event type (as stored: "
                                               "Battles).")]


@events_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="The file to import.", exists=True,
                                         dir_okay=False, readable=True)],
    fmt: Annotated[EventFormat, typer.Option("--format", "-f", help="The file's format.")],
    db: Db = None,
    owner: Annotated[str | None, typer.Option(help="Owner organisation (default: the "
                                              "secretariat, C5-SEC).")] = None,
    tlp: Annotated[Tlp | None, typer.Option(help="Marking of the imported events (default: "
                                            "green for ACLED, clear for UCDP GED and "
                                            "GDELT).")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Import the good rows and put the bad ones in "
        "PATH.quarantine.EXT beside the file (default: import nothing if a row is bad).")
    ] = False,
    encoding: Annotated[str, typer.Option(
        help="The text's encoding, for a file a spreadsheet saved in its own (cp1251 for "
             "Cyrillic Windows). Workbooks (.xlsx) need none.")] = "utf-8",
    country: Annotated[list[str] | None, typer.Option(
        "--country", help="Import only this country's events (ISO3; repeat for several): "
        "the file's other rows are left out and counted.")] = None,
) -> None:
    """Import an event file: all of it in one transaction, or nothing (exit 2 with every bad
    row as file:line: column: reason). Re-importing a file adds nothing; changed rows update."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        fail(f"--encoding: unknown encoding {encoding!r} (e.g. utf-8, cp1251)", 2)
    chosen: set[str] = set()
    for code in country or []:
        try:
            chosen.add(countries.from_iso3(code))
        except countries.UnknownCountry:
            fail(f"--country: unknown country code {code!r} (ISO3, e.g. KAZ, KGZ, TJK)", 2)
    only = frozenset(chosen) if chosen else None
    rt = runtime(db)
    size = path.stat().st_size
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=err, transient=True,
                  disable=size < PROGRESS_BYTES) as bar:
        task = bar.add_task("Checking", total=size)

        def phase(name: str) -> None:
            bar.update(task, description=name, completed=0)

        try:
            with rt.transaction() as session:
                result = service.import_events(
                    session, path, fmt.value, CLI, owner,
                    tlp.value if tlp else None, skip_invalid,
                    progress=lambda done: bar.update(task, completed=done), phase=phase,
                    encoding=encoding, only=only)
        except EventImportError as exc:
            bar.stop()
            for problem in exc.problems:
                err.print(problem, markup=False, highlight=False, soft_wrap=True)
            fail(f"{len(exc.problems)} problem(s); nothing was written.", 2)
        except service.EventError as exc:
            fail(str(exc), 2)
    for problem in result.problems or []:
        err.print(problem, markup=False, highlight=False, soft_wrap=True)
    err.print(result.summary(), markup=False, highlight=False, soft_wrap=True)


class EventSource(StrEnum):
    acled = "acled"
    acled_weekly = "acled-weekly"
    ucdp_ged = "ucdp-ged"
    gdelt = "gdelt"
    report = "report"


@events_app.command("delete")
def delete(
    path: Annotated[Path, typer.Argument(help="The list of ids: CSV, JSON or .xlsx.",
                                         exists=True, dir_okay=False, readable=True)],
    source: Annotated[EventSource, typer.Option(help="Whose ids they are.")],
    db: Db = None,
) -> None:
    """Delete the events a source has withdrawn, listed in a file (ACLED's deleted events:
    a column event_id_cnty; else id, globaleventid or source_id): all in one transaction, or
    nothing (exit 2 with every bad row as file:line: column: reason). Ids not stored are
    counted. The next `warning run --changed` evaluates everything again."""
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            removed = service.remove_events(session, path, source.value, CLI)
    except EventImportError as exc:
        for problem in exc.problems:
            err.print(problem, markup=False, highlight=False, soft_wrap=True)
        fail(f"{len(exc.problems)} problem(s); nothing was deleted.", 2)
    err.print(removed.summary(), markup=False, highlight=False, soft_wrap=True)


@events_app.command("list")
def list_(
    db: Db = None, fmt: Fmt = Format.table, country: Country = None, admin1: Admin1 = None,
    source: Source = None, event_type: EventType = None, since: Since = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 50,
    as_user: As = None,
) -> None:
    """List the newest events (those you may see with --as)."""
    filters = service.EventFilters(country=country, admin1=admin1, source=source,
                                   event_type=event_type, since=option_date("--since", since))
    with runtime(db).transaction() as session:
        principal, _ = acting(session, as_user)
        total, rows = service.list_events(session, scope_of(principal), filters, limit)
    emit(rows, fmt, EVENT_COLUMNS, title=f"{len(rows)} of {total} event(s)")


@events_app.command("stats")
def stats(
    db: Db = None, fmt: Fmt = Format.table, country: Country = None, admin1: Admin1 = None,
    source: Source = None, event_type: EventType = None, since: Since = None,
    as_user: As = None,
) -> None:
    """Counts of stored events by source, country and event type, with first and last dates."""
    filters = service.EventFilters(country=country, admin1=admin1, source=source,
                                   event_type=event_type, since=option_date("--since", since))
    with runtime(db).transaction() as session:
        principal, _ = acting(session, as_user)
        data = service.stats(session, scope_of(principal), filters)
    if fmt is not Format.table:
        emit(data, fmt)
        return
    total = data["total"]
    for name in ("by_source", "by_country", "by_event_type"):
        emit(data[name], fmt, ("key", "rows", "events", "first", "last"),
             title=f"{name.replace('_', ' ')} ({total['rows']} rows, {total['first'] or '-'} "
                   f"to {total['last'] or '-'})")
