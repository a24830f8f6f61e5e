"""Alerts: the indicators evaluated over the stored events, stored per audience, read through
the sharing policy, and given a status by analysts.

Why per audience: an alert says something about the events it counts. One computed from AMBER
field reports tells a partner what those reports say, so it must be marked as they are. Each
evaluation is run once per audience tier (models.TIERS), over the events that audience may
read: CLEAR only; CLEAR and GREEN; up to AMBER (members and regional bodies); and, for each
organisation that owns AMBER+STRICT events, what it may read plus its own AMBER+STRICT events.
The alert of a tier carries that tier's TLP (and the organisation as owner for the last), so
the policy shows it exactly to the readers of its data. A tier's alert is kept only where it
says something the tier below does not (it fired there alone, or with other figures); of the
alerts of one cell, the policy shows each reader the most complete one they may see.
RED events feed no alert: their readers are named people, not an audience.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Select,
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who, append_many
from riskatlas.catalog.models import Measure, Risk, RiskMeasure
from riskatlas.parties.accounts import STANDING
from riskatlas.parties.models import Organisation, State
from riskatlas.sharing.policy import GROUPING_ROLES, MEMBER_ROLES, Principal, Scope
from riskatlas.warning import batches, changes, columns, series
from riskatlas.warning import tiers as tiers_
from riskatlas.warning.indicators import Indicator
from riskatlas.warning.models import ALERT_STATUSES, TIERS, Alert, Event, EventBatch
from riskatlas.warning.periods import PeriodKind, period_of
from riskatlas.warning.service import DEFAULT_OWNER
from riskatlas.warning.store import ColumnStore, Snapshot

# Status changes by the commands and API: the verb and the status it sets
ACTIONS = {"ack": "acknowledged", "dismiss": "dismissed", "escalate": "escalated"}


class AlertError(ValueError):
    """A request the service refuses (an unknown status, a reader who may not change it)."""


class AlertNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Audience:
    """Who an evaluation is for: the events it counts and the marking of what it finds."""

    tier: str  # "clear", "green", "amber", or "amber+strict:<org id>"
    rank: int
    tlps: frozenset[str]
    owner_org_id: int
    strict_owner: int | None = None  # whose AMBER+STRICT events count too
    below: str | None = None  # the tier whose alert this one repeats when the figures agree

    @property
    def tlp(self) -> str:
        return TIERS[self.rank]

    def counts(self, tlp: str, owner: int) -> bool:
        return tlp in self.tlps or (tlp == "amber+strict" and owner == self.strict_owner)


def audiences(session: Session, owner_org_id: int) -> list[Audience]:
    """The shared tiers, owned by `owner_org_id` (the secretariat), and one tier per
    organisation owning AMBER+STRICT events, with the TLPs that organisation may read."""
    out = [Audience("clear", 0, frozenset({"clear"}), owner_org_id),
           Audience("green", 1, frozenset({"clear", "green"}), owner_org_id, below="clear"),
           Audience("amber", 2, frozenset({"clear", "green", "amber"}), owner_org_id,
                    below="green")]
    # One probe of the (tlp, owner) index per organisation (there are tens): a DISTINCT over
    # the events read every AMBER+STRICT row, 0.1 s at 2.5 M events on PostgreSQL (measured).
    strict = or_(exists().where(Event.tlp == "amber+strict",
                                Event.owner_org_id == Organisation.id),
                 exists().where(EventBatch.tlp == "amber+strict",
                                EventBatch.owner_org_id == Organisation.id))
    rows = session.execute(select(Organisation.id, STANDING)
                           .outerjoin(State, State.code == Organisation.state_code)
                           .where(strict).order_by(Organisation.id))
    for org_id, standing in rows:
        tlps = {"clear"}
        if standing in GROUPING_ROLES:
            tlps.add("green")
        if standing in MEMBER_ROLES:
            tlps.add("amber")
        below = TIERS[len(tlps) - 1]
        out.append(Audience(f"amber+strict:{org_id}", 3, frozenset(tlps), org_id, org_id,
                            below=below))
    return out


@dataclass(frozen=True, slots=True)
class Stored:
    """An event as the evaluation reads it: series.Event's fields, its marking and owner."""

    event: series.Event
    tlp: str
    owner: int


def read_events(session: Session, scope: Scope, until: date | None = None) -> list[Stored]:
    """The events the scope shows, dated on or before `until`, as objects (the pure-Python
    reference's input: benchmarks/warning_bench.py), from the rows of `events` and the
    batches alike. The owner is kept for AMBER+STRICT events only (0 for the others), as the
    tiers read it."""
    names = ("day", "country", "admin1", "location", "event_type", "sub_type", "actor1",
             "actor2", "fatalities", "count", "tlp", "owner")
    cols = columns.fetch(session, names, [Event.date <= until] if until is not None else [],
                         scope=scope)
    def decode(name: str) -> list[Any]:
        key = "actor1" if name == "actor2" else name  # the actors share one list of values
        if key not in cols.values:
            return list(cols[name].tolist())
        values = cols.values[key]
        return [values[c] for c in cols[name]]

    decoded = {n: decode(n) for n in names}
    return [Stored(series.Event(date.fromordinal(d + columns.EPOCH), c, a, loc, et, st, a1,
                                a2, float(f), int(n)), tlp, int(owner))
            for d, c, a, loc, et, st, a1, a2, f, n, tlp, owner in zip(
                *(decoded[n] for n in names), strict=True)]


Detect = Callable[[Indicator, Sequence[series.Event], date, date, date], list[series.Candidate]]


def _backtest(indicator: Indicator, events: Sequence[series.Event], since: date, until: date,
              start: date) -> list[series.Candidate]:
    return series.backtest(indicator, events, since, until, start)


cell_of = tiers_.cell_of


def _columns(stored: Sequence[Stored]) -> columns.Columns:
    return columns.from_events([s.event for s in stored], tlp=[s.tlp for s in stored],
                               owner=[s.owner for s in stored])


def detect(indicators: Iterable[Indicator], stored: Sequence[Stored], tiers: list[Audience],
           since: date, until: date, detector: Detect | None = None,
           ) -> list[tuple[Audience, series.Candidate]]:
    """Every alert of every tier for the periods from `since` to `until`, each period judged
    with data up to it only; a tier's alert is left out where it repeats the tier below.
    Evaluated by the engine, or by `detector` on each tier's events (series.backtest, the
    pure-Python reference, is `_backtest`)."""
    if not stored:
        return []
    indicators = list(indicators)
    start = min(s.event.date for s in stored)
    if detector is None:
        found = tiers_.detect(indicators, _columns(stored), tiers, since, until, start)
        return tiers_.kept(found, tiers)
    found = {}
    for audience in tiers:
        events = [s.event for s in stored if s.event.date <= until
                  and audience.counts(s.tlp, s.owner)]
        cells = found.setdefault(audience.tier, {})
        if not events:
            continue
        for indicator in indicators:
            for c in detector(indicator, events, since, until, start):
                cells[cell_of(c)] = c
    return tiers_.kept(found, tiers)


def replay(indicators: Iterable[Indicator], stored: Sequence[Stored] | columns.Columns,
           since: date, until: date, detector: Detect | None = None, start: date | None = None,
           ) -> list[series.Candidate]:
    """The backtest: every indicator over all the given events (what one reader may see, read
    through their scope), period by period from `since` to `until` with no look-ahead; the
    series start at the first event (or `start`: the first of the reader's events when the
    columns hold only those the indicators may count), so the early periods have their
    history."""
    indicators = list(indicators)
    if detector is None:
        cols = stored if isinstance(stored, columns.Columns) else _columns(stored)
        return tiers_.replay(indicators, cols, since, until, start)
    assert not isinstance(stored, columns.Columns)
    events = [s.event for s in stored if s.event.date <= until]
    if not events:
        return []
    start = min(e.date for e in events)
    out = [c for i in indicators for c in detector(i, events, since, until, start)]
    out.sort(key=lambda c: (c.period_start, c.indicator, c.country, c.admin1 or ""))
    return out


def read_columns(session: Session, scope: Scope, indicators: Sequence[Indicator],
                 until: date | None = None, where: Sequence[Any] = ()) -> columns.Columns:
    """The columns the indicators need of the events the scope shows (dated on or before
    `until`). The indicators' countries are pushed into the SQL when every one restricts them
    (their event types too): rows no indicator could count are not read."""
    clauses = list(where)
    if until is not None and not where and session.get_bind().dialect.name == "sqlite":
        # nearly every row passes: SQLite must scan the table, not walk the date index and
        # look each row up (5 times slower); likelihood() tells its planner so
        clauses.append(func.likelihood(Event.date <= until, literal_column("0.99")))
    elif until is not None:
        clauses.append(Event.date <= until)
    if indicators and all(i.filter.countries for i in indicators):
        clauses.append(Event.country.in_(sorted({c for i in indicators
                                                 for c in i.filter.countries})))
    for column, name in ((Event.event_type, "event_types"), (Event.sub_type, "sub_types")):
        values = {t for i in indicators for t in getattr(i.filter, name)}
        if indicators and all(getattr(i.filter, name) for i in indicators) and all(
                t.isascii() for t in values):
            # the filter ignores case: lower() in SQL is ASCII-only, so only ASCII names are
            # pushed
            clauses.append(func.lower(column).in_(sorted(t.casefold() for t in values)))
    names = columns.needed(indicators)
    return columns.fetch(session, names, clauses, columns.only_in(indicators, names),
                         scope=scope)


def first_day(session: Session, scope: Scope, until: date, snap: Snapshot | None = None,
              ) -> date | None:
    """The date of the first event the scope shows (the start of every series); from the
    columnar copy when given `snap` (snapshot_of)."""
    if snap is not None:
        return snap.first_day(until)
    return columns.first_day(session, [Event.date <= until], scope)


def events_of(session: Session, scope: Scope, indicators: Sequence[Indicator], until: date,
              snap: Snapshot | None = None) -> columns.Columns:
    """The events an evaluation up to `until` reads: every event of the columnar copy (the
    engine leaves out the later ones) when given `snap`, else read_columns."""
    return snap.all() if snap is not None else read_columns(session, scope, indicators, until)


def countries_between(session: Session, scope: Scope, since: date, until: date) -> set[str]:
    """The countries with events the scope shows from `since` to `until` (the backtest's
    coverage)."""
    where = (Event.date >= since, Event.date <= until)
    found = set(session.scalars(select(Event.country).where(scope.events, *where).distinct()))
    view = batches.open_view(session, scope)
    if view is not None:
        with view:
            found.update(c for (c,) in view.run(select(Event.country).where(*where)
                                                 .distinct()).fetchall())
    return found


@dataclass
class RunResult:
    periods: tuple[date, date]
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    cells: int | None = None  # --changed: the (indicator, geography) pairs re-evaluated

    def summary(self) -> str:
        scope = "" if self.cells is None else f" ({self.cells} changed indicator-geographies)"
        return (f"periods {self.periods[0]} to {self.periods[1]}{scope}: {self.added} alert(s) "
                f"added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.removed} withdrawn")


def run(session: Session, scope: Scope, indicators: list[Indicator], since: date, until: date,
        who: Who, owner: str | None = None, changed: bool = False,
        store: ColumnStore | None = None) -> RunResult:
    """Evaluate the indicators for the periods from `since` to `until` and store the alerts in
    the caller's transaction. An alert already stored keeps its status and has its figures
    updated; one that no longer fires is withdrawn (deleted) if nobody has acted on it yet.
    With `changed`, only the (indicator, geography) pairs with events written since the last
    such run are evaluated, from the earliest period of those events (`since` is then ignored;
    the first such run evaluates the whole history), and only their alerts are withdrawn.
    With a `store` (and the complete scope), the events are read through its columnar copy."""
    owner_key = owner or DEFAULT_OWNER
    owner_id = session.scalar(select(Organisation.id).where(Organisation.key == owner_key))
    if owner_id is None:
        raise AlertError(f"--owner: no organisation {owner_key!r}")
    tiers = audiences(session, owner_id)
    plan: changes.Plan | None = None
    snap: Snapshot | None = None
    if changed:
        key = changes.mark_key(indicators, owner_key)
        seen = changes.newest(session)
        old = changes.read_mark(session, key)
        changes.write_mark(session, key, seen)
        if old is None:  # every event is new: the whole history, read once
            snap = snapshot_of(session, scope, store)
            since = first_day(session, scope, until, snap) or until
        else:
            plan = changes.plan(session, scope, indicators, old, seen, until)
            if plan.empty:
                result = RunResult((until, until), cells=0)
                _audit(session, who, indicators, result)
                return result
            since = min(plan.since.values())
    if snap is None:
        snap = snapshot_of(session, scope, store)
    found = evaluate(session, scope, indicators, tiers, since, until, plan, snap)
    return _store(session, indicators, found, since, until, who, plan)


def snapshot_of(session: Session, scope: Scope, store: ColumnStore | None) -> Snapshot | None:
    """The events through the columnar copy, when there is one and the scope is complete (the
    copy holds every event); else None: read the table."""
    if store is None or not scope.complete:
        return None
    return store.snapshot(session)


def evaluate(session: Session, scope: Scope, indicators: list[Indicator],
             tiers: list[Audience], since: date, until: date, plan: changes.Plan | None = None,
             snap: Snapshot | None = None) -> list[tuple[Audience, series.Candidate]]:
    """alerts.detect over the events the scope shows, read as columns: every indicator from
    `since` to `until`, or with a plan only its geographies and periods, each indicator then
    reading its own geographies' events from as far back as its detector's window needs.
    With `snap` (snapshot_of: the complete scope's events through the columnar copy), the
    events are taken from it instead."""
    start = first_day(session, scope, until, snap)
    if start is None:
        return []
    if plan is None:
        cols = events_of(session, scope, indicators, until, snap)
        return tiers_.kept(tiers_.detect(indicators, cols, tiers, since, until, start), tiers)
    planned = [i for i in indicators if plan.only.get(i.key)]
    if snap is not None and planned:
        # every planned geography's events from the earliest window on, once: an indicator
        # that needs less history does not read the older periods, and tiers.detect keeps
        # each indicator to its own geographies and periods (plan.only, plan.since)
        first = plan.read_from(planned)
        window = snap.select(plan.mask(planned, first, until), first, columns.needed(planned))
        return tiers_.kept(tiers_.detect(planned, window, tiers, since, until, start,
                                         plan.only, plan.since), tiers)
    found: dict[str, dict[str, series.Candidate]] = {a.tier: {} for a in tiers}
    for indicator in planned:
        cols = read_columns(session, scope, [indicator], until, [
            plan.where([indicator.key]), Event.date >= plan.read_from([indicator])])
        for tier, cells in tiers_.detect([indicator], cols, tiers, since, until, start,
                                         plan.only, plan.since).items():
            found[tier].update(cells)
    return tiers_.kept(found, tiers)


FIGURES = ("observed", "expected", "score", "probability", "severity", "detector", "risks", "tlp",
           "owner_org_id", "period_end")


def _store(session: Session, indicators: list[Indicator], found: list[tuple[Audience, Any]],
           since: date, until: date, who: Who, plan: changes.Plan | None) -> RunResult:
    kinds = {i.period for i in indicators}
    first = min(period_of(since, k).start for k in kinds) if kinds else since
    keys = {i.key for i in indicators}
    # plain rows and bulk statements, not ORM objects: a --changed run after a weekly import
    # compares hundreds of alerts, and the unit of work cost most of its time (measured)
    query = select(Alert.id, Alert.cell, Alert.tier, Alert.status, Alert.indicator,
                   Alert.country, Alert.admin1, Alert.period_start,
                   *(getattr(Alert, k) for k in FIGURES)).where(
        Alert.indicator.in_(keys), Alert.period_start >= first, Alert.period_start <= until)
    if plan is not None:
        query = query.where(plan.where_alerts())
    existing = {(a.cell, a.tier): a for a in session.execute(query)}
    if plan is not None:  # only the re-evaluated cells may be updated or withdrawn
        kinds_of = {i.key: i.period for i in indicators}
        existing = {k: a for k, a in existing.items() if plan.covers(
            a.indicator, (a.country, a.admin1), a.period_start, kinds_of[a.indicator])}
    result = RunResult((first, until), cells=None if plan is None else sum(
        len(g) for g in plan.only.values()))
    now = datetime.now(UTC)
    seen = set()
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for audience, c in found:
        key = (cell_of(c), audience.tier)
        seen.add(key)
        figures = {"observed": c.observed, "expected": c.expected, "score": c.score,
                   "probability": c.probability, "severity": c.severity,
                   "detector": c.detector, "risks": list(c.risks), "tlp": audience.tlp,
                   "owner_org_id": audience.owner_org_id, "period_end": c.period_end}
        alert = existing.get(key)
        if alert is None:
            added.append(dict(cell=key[0], tier=audience.tier, rank=audience.rank,
                              indicator=c.indicator, country=c.country, admin1=c.admin1,
                              period=_kind(indicators, c.indicator), period_start=c.period_start,
                              status="new", created_at=now, updated_at=now, **figures))
        elif any(getattr(alert, k) != v for k, v in figures.items()):
            changed.append({"id": alert.id, **figures, "updated_at": now})
        else:
            result.unchanged += 1
    # Core statements, not the ORM's bulk ones: the same executemany without the ORM's
    # per-row bookkeeping (a third of the store's time in a --changed run, measured)
    table = cast(Table, Alert.__table__)
    if added:
        session.execute(insert(table), added)
    if changed:  # by primary key, in one executemany
        names = [*FIGURES, "updated_at"]
        session.execute(update(table).where(table.c.id == bindparam("alert_id")).values(
            {k: bindparam(k) for k in names}),
            [{"alert_id": c["id"], **{k: c[k] for k in names}} for c in changed])
    result.added, result.updated = len(added), len(changed)
    stale = [a.id for k, a in existing.items() if k not in seen and a.status == "new"]
    if stale:
        session.execute(delete(Alert).where(Alert.id.in_(stale)))
        result.removed = len(stale)
    _audit(session, who, indicators, result)
    return result


def _audit(session: Session, who: Who, indicators: list[Indicator], result: RunResult) -> None:
    append_many(session, who, [{"action": "alerts.run", "entity": "alert",
                                "key": ",".join(sorted(i.key for i in indicators))[:64],
                                "detail": result.summary()}])


def _kind(indicators: list[Indicator], key: str) -> PeriodKind:
    return next(i.period for i in indicators if i.key == key)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFilters:
    status: str | None = None
    country: str | None = None
    indicator: str | None = None
    risk: str | None = None
    min_severity: int | None = None
    since: date | None = None
    until: date | None = None


Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def _filtered(query: Q, scope: Scope, f: AlertFilters) -> Q:
    query = query.where(scope.alerts)
    if f.status:
        query = query.where(Alert.status == f.status)
    if f.country:
        query = query.where(Alert.country == f.country.upper())
    if f.indicator:
        query = query.where(Alert.indicator == f.indicator)
    if f.min_severity:
        query = query.where(Alert.severity >= f.min_severity)
    if f.since:
        query = query.where(Alert.period_start >= f.since)
    if f.until:
        query = query.where(Alert.period_start <= f.until)
    return query


def as_dict(alert: Alert, owner_key: str) -> dict[str, Any]:
    from riskatlas.warning.detectors import SEVERITY_LABELS

    return {"id": alert.id, "indicator": alert.indicator, "country": alert.country,
            "admin1": alert.admin1, "period": alert.period,
            "period_start": alert.period_start.isoformat(),
            "period_end": alert.period_end.isoformat(), "observed": alert.observed,
            "expected": alert.expected, "score": alert.score,
            "probability": alert.probability, "severity": alert.severity,
            "severity_label": SEVERITY_LABELS[alert.severity], "detector": alert.detector,
            "risks": list(alert.risks), "status": alert.status, "status_by": alert.status_by,
            "status_at": alert.status_at.isoformat() if alert.status_at else None,
            "status_note": alert.status_note, "owner": owner_key, "tlp": alert.tlp}


def list_alerts(session: Session, scope: Scope, filters: AlertFilters, limit: int = 100,
                offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """The alerts the scope shows, newest period first, most severe first: (total, a page)."""
    if filters.status and filters.status not in ALERT_STATUSES:
        raise AlertError(f"status: one of {', '.join(ALERT_STATUSES)}")
    base = select(Alert, Organisation.key).join(Organisation,
                                                Organisation.id == Alert.owner_org_id)
    ids: list[int] | None = None
    if filters.risk:
        # risks is a JSON list: matched in Python over the (few) candidate rows
        ids = [a.id for a in session.scalars(_filtered(select(Alert), scope, filters))
               if filters.risk.upper() in a.risks]
        base = base.where(Alert.id.in_(ids))
        total = len(ids)
    else:
        total = session.scalar(_filtered(select(func.count()).select_from(Alert), scope,
                                         filters)) or 0
    rows = session.execute(_filtered(base, scope, filters).order_by(
        Alert.period_start.desc(), Alert.severity.desc(), Alert.indicator, Alert.country,
        Alert.admin1, Alert.id).limit(limit).offset(offset)).all()
    return total, [as_dict(alert, key) for alert, key in rows]


def get_alert(session: Session, scope: Scope, alert_id: int) -> dict[str, Any]:
    """One alert the scope shows, with its linked risks and their measures that the scope
    shows too (AlertNotFound otherwise)."""
    row = session.execute(
        select(Alert, Organisation.key).join(Organisation, Organisation.id == Alert.owner_org_id)
        .where(Alert.id == alert_id, scope.alerts)).first()
    if row is None:
        raise AlertNotFound(f"no alert {alert_id}")
    out = as_dict(row[0], row[1])
    out["linked"] = linked(session, scope, row[0].risks)
    return out


def linked(session: Session, scope: Scope, keys: list[str]) -> list[dict[str, Any]]:
    """The risks named by an alert that the scope shows, each with its accepted measures that
    the scope shows (key, title, status), in the alert's order."""
    risks = {r.key: r for r in session.scalars(select(Risk).where(Risk.key.in_(keys),
                                                                  scope.risks))}
    measures: dict[int, list[dict[str, Any]]] = {}
    if risks:
        rows = session.execute(
            select(RiskMeasure.risk_id, Measure.key, Measure.title, Measure.status)
            .join(Measure, Measure.id == RiskMeasure.measure_id)
            .where(RiskMeasure.risk_id.in_([r.id for r in risks.values()]),
                   RiskMeasure.status == "accepted", scope.measures)
            .order_by(RiskMeasure.risk_id, RiskMeasure.position, Measure.key))
        for risk_id, key, title, status in rows:
            measures.setdefault(risk_id, []).append({"key": key, "title": title,
                                                     "status": status})
    return [{"key": k, "title": risks[k].title, "level": risks[k].level,
             "residual_level": risks[k].residual_level,
             "measures": measures.get(risks[k].id, [])} for k in keys if k in risks]


def set_status(session: Session, scope: Scope, principal: Principal | None, alert_id: int,
               status: str, who: Who, note: str | None = None) -> dict[str, Any]:
    """Change an alert's status (who and when are kept, and audited). A user may change the
    status of an alert they see if they may write (editor or administrator); the local
    operator (principal None) may change any."""
    if status not in ALERT_STATUSES:
        raise AlertError(f"status: one of {', '.join(ALERT_STATUSES)}")
    alert = session.scalar(select(Alert).where(Alert.id == alert_id, scope.alerts))
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id}")
    if principal is not None and not (principal.can_write and principal.org_id is not None):
        raise AlertError("only an editor or administrator may change an alert's status")
    before = {"status": alert.status, "status_note": alert.status_note}
    alert.status = status
    alert.status_by = who.actor
    alert.status_at = datetime.now(UTC)
    alert.status_note = note
    append_many(session, who, [{"action": f"alert.{status}", "entity": "alert",
                                "key": str(alert.id), "before": before,
                                "after": {"status": status, "status_note": note}}])
    session.flush()
    return get_alert(session, scope, alert_id)


__all__ = ["ACTIONS", "AlertError", "AlertFilters", "AlertNotFound", "Audience", "Stored",
           "audiences", "detect", "get_alert", "list_alerts",
           "read_events", "replay", "run", "set_status"]
