"""`riskatlas warning run|backtest` and `riskatlas alerts list|show|ack|dismiss|escalate`:
thin commands over warning.alerts and warning.episodes."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from riskatlas.catalog.models import Risk
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
from riskatlas.runtime import Runtime
from riskatlas.warning import alerts as service
from riskatlas.warning import episodes as ep
from riskatlas.warning.indicators import (
    Indicator,
    IndicatorError,
    default_indicator_file,
    load_indicators,
)
from riskatlas.warning.periods import period_of
from riskatlas.warning.store import ColumnStore

warning_app = typer.Typer(help="Early warning: evaluate the indicators over the stored events.",
                          no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts raised by the indicators: list, show, change status.",
                         no_args_is_help=True)
ALERT_COLUMNS = ("id", "period_start", "indicator", "country", "admin1", "observed",
                 "expected", "severity_label", "status", "tlp")
BACKTEST_COLUMNS = ("period_start", "indicator", "country", "admin1", "observed", "expected",
                    "score", "severity", "risks")


class Output(StrEnum):
    json = "json"
    table = "table"


Indicators = Annotated[Path | None, typer.Option(
    "--indicators", help="Indicator file (YAML; default: the shipped Central Asia indicators).",
    exists=True, dir_okay=False, readable=True)]
Until = Annotated[str | None, typer.Option(help="Last day evaluated (YYYY-MM-DD; default: the "
                                           "date of the newest event).")]


def _indicators(session: Any, path: Path | None) -> list[Indicator]:
    from sqlalchemy import select

    known = set(session.scalars(select(Risk.key)))
    try:
        return load_indicators(path or default_indicator_file(), known or None)
    except IndicatorError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        fail(f"{len(exc.problems)} problem(s) in the indicator file.", 2)


def _newest(session: Any, scope: Any) -> date | None:
    from sqlalchemy import func, select

    from riskatlas.warning import batches
    from riskatlas.warning.models import Event

    found: date | None = session.scalar(select(func.max(Event.date)).where(scope.events))
    view = batches.open_view(session, scope)
    if view is not None:
        with view:
            theirs = view.run(select(func.max(Event.date))).fetchone()[0]
        if theirs is not None and (found is None or theirs > found):
            found = theirs
    return found


@warning_app.command("run")
def run(
    db: Db = None, indicators: Indicators = None, until: Until = None,
    since: Annotated[str | None, typer.Option(help="First day evaluated (default: the last "
                                              "--periods periods up to --until).")] = None,
    periods: Annotated[int, typer.Option(min=1, max=520, help="Periods evaluated when "
                                         "--since is not given (late events revise the "
                                         "last weeks).")] = 4,
    owner: Annotated[str | None, typer.Option(help="Owner of the shared alerts (default: "
                                              "the secretariat, C5-SEC).")] = None,
    changed: Annotated[bool, typer.Option("--changed", help="Evaluate only the provinces "
                                          "(countries, for country-level indicators) with "
                                          "events imported or reported since the last "
                                          "--changed run, from the earliest period of those "
                                          "events to --until (--since and --periods are not "
                                          "used); the first such run evaluates the whole "
                                          "history.")] = False,
) -> None:
    """Evaluate every indicator for the latest periods and store the alerts (each period judged
    with the events up to it only). Alerts keep their status when re-evaluated."""
    rt = runtime(db)
    with rt.transaction() as session:
        scope = scope_of(None)
        chosen = _indicators(session, indicators)
        last = option_date("--until", until) or _newest(session, scope)
        if last is None:
            err.print("No events stored: nothing to evaluate.")
            return
        first = option_date("--since", since) or (
            period_of(last, "week").start - timedelta(weeks=periods - 1))
        if first > last:
            fail("--since is after --until", 2)
        try:
            result = service.run(session, scope, chosen, first, last, CLI, owner, changed,
                                 _store(rt))
        except service.AlertError as exc:
            fail(str(exc), 2)
    err.print(result.summary(), markup=False, highlight=False, soft_wrap=True)


def _store(rt: Runtime) -> ColumnStore | None:
    """The events' columnar copy (warning.store), saying on stderr when it is built."""
    return ColumnStore.of(rt.settings, say=lambda m: err.print(
        m, markup=False, highlight=False, soft_wrap=True))


@warning_app.command("backtest")
def backtest(
    since: Annotated[str, typer.Option(help="First day replayed (YYYY-MM-DD).")],
    until: Annotated[str, typer.Option(help="Last day replayed (YYYY-MM-DD).")],
    db: Db = None, indicators: Indicators = None,
    fmt: Annotated[Output, typer.Option("--format", "-f", help="Output format.")] = Output.json,
    episodes: Annotated[Path | None, typer.Option(
        help="CSV of known episodes (country, admin1, start, end, label): adds recall, lead "
        "time, precision and alerts per country-year.", exists=True, dir_okay=False,
        readable=True)] = None,
    lead: Annotated[int, typer.Option(min=0, max=52, help="Periods before an episode's start "
                                      "in which an alert counts as a warning of it.")]
    = ep.DEFAULT_LEAD,
    as_user: As = None,
) -> None:
    """Replay the stored events period by period with no look-ahead (a period's alerts use only
    the events up to it) and print the alerts that would have been raised; nothing is stored."""
    first, last = option_date("--since", since), option_date("--until", until)
    assert first is not None and last is not None
    if first > last:
        fail("--since is after --until", 2)
    known = None
    if episodes is not None:
        try:
            known = ep.load_episodes(episodes)
        except ep.EpisodeError as exc:
            for problem in exc.problems:
                err.print(problem, markup=False, highlight=False, soft_wrap=True)
            fail(f"{len(exc.problems)} problem(s) in the episodes file.", 2)
    rt = runtime(db)
    with rt.transaction() as session:
        principal, _ = acting(session, as_user)
        chosen = _indicators(session, indicators)
        scope = scope_of(principal)
        snap = service.snapshot_of(session, scope, _store(rt))
        cols = service.events_of(session, scope, chosen, last, snap)
        start = service.first_day(session, scope, last, snap)
        seen = (service.countries_between(session, scope, first, last) if known is not None
                else set())
    found = service.replay(chosen, cols, first, last, start=start)
    out: dict[str, Any] = {"alerts": [c.as_dict() for c in found]}
    if known is not None:
        out["evaluation"] = ep.score(found, known, first, last, seen, lead)
    if fmt is Output.json:
        sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    emit([{**a, "risks": ", ".join(a["risks"])} for a in out["alerts"]], Format.table,
         BACKTEST_COLUMNS, title=f"{len(found)} alert(s), {first} to {last}")
    if known is not None:
        _evaluation_table(out["evaluation"])


def _evaluation_table(figures: dict[str, Any]) -> None:
    console = Console()
    table = Table(title="Against the episodes", show_header=False)
    for name in ("episodes", "detected", "recall", "caught_by_first_period", "alerts",
                 "precision", "high_alerts", "precision_high", "alerts_per_country_year"):
        value = figures[name]
        table.add_row(name.replace("_", " "), "-" if value is None else
                      f"{value:.3f}" if isinstance(value, float) else str(value))
        if name == "caught_by_first_period":
            leads = figures["lead_periods"]
            table.add_row("lead periods (median)", "-" if leads["median"] is None
                          else str(leads["median"]))
    console.print(table)
    episodes = Table(title="Episodes")
    for column in ("label", "country", "admin1", "start", "detected", "first_alert",
                   "lead_periods", "alerts"):
        episodes.add_column(column)
    for row in figures["by_episode"]:
        episodes.add_row(*("-" if row[c] is None else str(row[c]) for c in (
            "label", "country", "admin1", "start", "detected", "first_alert", "lead_periods",
            "alerts")))
    console.print(episodes)


Status = Annotated[str | None, typer.Option(help="Only this status (new, acknowledged, "
                                            "dismissed, escalated).")]


@alerts_app.command("list")
def list_(
    db: Db = None, fmt: Fmt = Format.table, status: Status = None,
    country: Annotated[str | None, typer.Option(help="Only this country (ISO3).")] = None,
    indicator: Annotated[str | None, typer.Option(help="Only this indicator.")] = None,
    risk: Annotated[str | None, typer.Option(help="Only alerts linked to this risk.")] = None,
    min_severity: Annotated[int | None, typer.Option(min=1, max=4, help="Only this "
                                                     "severity or higher (1-4).")] = None,
    since: Annotated[str | None, typer.Option(help="Only periods starting on or after this "
                                              "date.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many.")] = 50,
    as_user: As = None,
) -> None:
    """List alerts, newest period and most severe first (those you may see with --as)."""
    filters = service.AlertFilters(status=status, country=country, indicator=indicator,
                                   risk=risk, min_severity=min_severity,
                                   since=option_date("--since", since))
    with runtime(db).transaction() as session:
        principal, _ = acting(session, as_user)
        try:
            total, rows = service.list_alerts(session, scope_of(principal), filters, limit)
        except service.AlertError as exc:
            fail(str(exc), 2)
    emit(rows, fmt, ALERT_COLUMNS, title=f"{len(rows)} of {total} alert(s)")


@alerts_app.command("show")
def show(alert_id: Annotated[int, typer.Argument(help="The alert's id.")], db: Db = None,
         fmt: Fmt = Format.table, as_user: As = None) -> None:
    """One alert with its linked risks and their measures."""
    with runtime(db).transaction() as session:
        principal, _ = acting(session, as_user)
        try:
            found = service.get_alert(session, scope_of(principal), alert_id)
        except service.AlertNotFound as exc:
            fail(str(exc), 1)
    if fmt is not Format.table:
        emit(found, fmt)
        return
    linked = found.pop("linked")
    emit({**found, "risks": ", ".join(found["risks"])}, fmt)
    for risk in linked:
        title = risk["title"].get("en") if isinstance(risk["title"], dict) else risk["title"]
        measures = "; ".join(f"{m['key']} ({m['status']})" for m in risk["measures"]) or "-"
        Console().print(f"[bold]{risk['key']}[/bold] {title}: {measures}", highlight=False)


def _status_command(verb: str, status: str) -> None:
    def command(alert_id: Annotated[int, typer.Argument(help="The alert's id.")],
                db: Db = None,
                note: Annotated[str | None, typer.Option(help="Why (kept with the "
                                                         "status).")] = None,
                as_user: As = None) -> None:
        with runtime(db).transaction() as session:
            principal, author = acting(session, as_user)
            try:
                found = service.set_status(session, scope_of(principal), principal, alert_id,
                                           status, author, note)
            except service.AlertNotFound as exc:
                fail(str(exc), 1)
            except service.AlertError as exc:
                fail(str(exc), 2)
        err.print(f"alert {found['id']}: {found['status']}", highlight=False)

    command.__doc__ = f"Mark an alert {status} (who and when are kept)."
    alerts_app.command(verb)(command)


for _verb, _status in service.ACTIONS.items():
    _status_command(_verb, _status)
