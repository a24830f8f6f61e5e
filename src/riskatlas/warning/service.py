"""Reading and writing events: lists and counts through the sharing scope, field reports, and
the import with its audit entry. The CLI and the JSON API are thin doors over these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, literal_column, select
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who, append_many
from riskatlas.parties.models import Organisation
from riskatlas.sharing.models import RecordShare
from riskatlas.sharing.policy import Principal, Scope
from riskatlas.warning import batches, ingest, removal
from riskatlas.warning.models import Event
from riskatlas.warning.schemas import ReportIn

# The public datasets' licences: UCDP GED (CC BY 4.0) and GDELT are open; ACLED's terms allow
# use but not republication of its rows, so its files stay within the grouping by default.
DEFAULT_TLP = {"acled": "green", "acled-weekly": "green", "ucdp-ged": "clear", "gdelt": "clear"}
DEFAULT_OWNER = "C5-SEC"  # the grouping's secretariat (parties.service.seed)


class EventError(ValueError):
    """A request the service refuses (an unknown owner organisation, ...)."""


@dataclass(frozen=True)
class EventFilters:
    country: str | None = None
    admin1: str | None = None  # exactly as stored (a page's alert names its province so)
    source: str | None = None
    event_type: str | None = None  # exactly as stored ("Battles", "State-based conflict")
    since: date | None = None
    until: date | None = None


def owner_id(session: Session, key: str | None) -> int:
    org_id = session.scalar(select(Organisation.id).where(
        Organisation.key == (key or DEFAULT_OWNER)))
    if org_id is None:
        raise EventError(f"--owner: no organisation {key or DEFAULT_OWNER!r}")
    return org_id


def import_events(session: Session, path: Path, format_name: str, who: Who,
                  owner: str | None = None, tlp: str | None = None, skip_invalid: bool = False,
                  progress: ingest.Progress | None = None,
                  phase: Any = None, encoding: str = "utf-8",
                  only: frozenset[str] | None = None) -> ingest.ImportResult:
    """Import one event file in the caller's transaction, with one audit entry for it;
    `only`: the countries (ISO3) whose events import."""
    result = ingest.import_file(session, path, format_name, owner_id(session, owner),
                                tlp or DEFAULT_TLP[format_name], skip_invalid, progress, phase,
                                encoding, only)
    append_many(session, who, [{"action": "events.import", "entity": "event",
                                "key": format_name, "detail": f"{path.name}: "
                                                              f"{result.summary()}"}])
    return result


def remove_events(session: Session, path: Path, source: str, who: Who) -> removal.Removed:
    """Delete the events of `source` a file lists as withdrawn (warning.removal), with one
    audit entry, in the caller's transaction."""
    ids = removal.read_ids(path)
    removed = removal.remove(session, source, ids)
    append_many(session, who, [{"action": "events.delete", "entity": "event", "key": source,
                                "detail": f"{path.name}: {removed.summary()}"}])
    return removed


Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def _clauses(filters: EventFilters) -> list[ColumnElement[bool]]:
    """The filters as conditions over the events' columns (the table's and the batches')."""
    out = []
    if filters.country:
        out.append(Event.country == filters.country.upper())
    if filters.admin1 is not None:
        out.append(Event.admin1 == filters.admin1)
    if filters.source:
        out.append(Event.source == filters.source)
    if filters.event_type:
        out.append(Event.event_type == filters.event_type)
    if filters.since:
        out.append(Event.date >= filters.since)
    if filters.until:
        out.append(Event.date <= filters.until)
    return out


def _filtered(query: Q, scope: Scope, filters: EventFilters) -> Q:
    return query.where(scope.events, *_clauses(filters))


def _view(session: Session, scope: Scope, filters: EventFilters) -> batches.View | None:
    return batches.open_view(session, scope, [filters.source] if filters.source else None)


def as_dict(event: Event, owner_key: str) -> dict[str, Any]:
    return {"id": event.id, "source": event.source, "source_id": event.source_id,
            "period": event.period, "date": event.date.isoformat(), "country": event.country,
            "admin1": event.admin1, "location": event.location, "latitude": event.latitude,
            "longitude": event.longitude, "event_type": event.event_type,
            "sub_type": event.sub_type, "actor1": event.actor1, "actor2": event.actor2,
            "fatalities": event.fatalities, "events": event.events, "notes": event.notes,
            "extra": event.extra, "owner": owner_key, "tlp": event.tlp}


def _owner_keys(session: Session, ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(Organisation.id, Organisation.key)
                                .where(Organisation.id.in_(sorted(ids)))).all())


def _batch_select() -> Select[Any]:
    """Every column of the batches' view (warning.batches.VIEW_COLUMNS)."""
    return select(*(Event.__table__.c[c] if c in Event.__table__.c else literal_column(c)
                    for c in batches.VIEW_COLUMNS))


def _batch_rows(view: batches.View, query: Select[Any]) -> list[dict[str, Any]]:
    cursor = view.run(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def list_events(session: Session, scope: Scope, filters: EventFilters, limit: int = 100,
                offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """The events the scope shows, newest first: (total, one page). The rows of `events` and
    the batches' events (warning.batches) are ordered apiece, each its first offset + limit
    places, merged, and the page's events read."""
    total = session.scalar(_filtered(select(func.count()).select_from(Event), scope,
                                     filters)) or 0
    view = _view(session, scope, filters)
    order = (Event.date.desc(), Event.id.desc())
    if view is None:
        rows = session.execute(
            _filtered(select(Event, Organisation.key).join(
                Organisation, Organisation.id == Event.owner_org_id), scope, filters)
            .order_by(*order).limit(limit).offset(offset)).all()
        return total, [as_dict(event, key) for event, key in rows]
    with view:
        where = _clauses(filters)
        total += view.run(select(func.count()).select_from(Event).where(*where)).fetchone()[0]
        # The page's places first, from the dates and ids alone, then its events: a top-N of
        # every column reads all of them for every event (0.69 s for a page 5,000 deep in
        # 2.5 M batch events, against 27 ms for the dates and ids)
        keys = [tuple(k) for k in view.run(select(Event.date, Event.id).where(*where)
                                            .order_by(*order).limit(offset + limit)).fetchall()]
        keys += [tuple(k) for k in session.execute(
            _filtered(select(Event.date, Event.id), scope, filters).order_by(*order)
            .limit(offset + limit))]
        page = [i for _, i in sorted(keys, reverse=True)[offset:offset + limit]]
        in_batches = [i for i in page if batches.batch_of(i) is not None]
        theirs = _batch_rows(view, _batch_select().where(batches.having_ids(in_batches))) \
            if in_batches else []
    mine = session.execute(
        select(Event, Organisation.key).join(Organisation, Organisation.id == Event.owner_org_id)
        .where(scope.events, Event.id.in_([i for i in page if batches.batch_of(i) is None]))
    ).all()
    keys_of = _owner_keys(session, {r["owner_org_id"] for r in theirs})
    found = {e["id"]: e for e in [as_dict(event, key) for event, key in mine] + [
        batches.as_dict(r, keys_of[r["owner_org_id"]]) for r in theirs]}
    return total, [found[i] for i in page]


def get_event(session: Session, scope: Scope, event_id: int) -> dict[str, Any] | None:
    batch = batches.batch_of(event_id)
    if batch is not None:
        view = batches.open_view(session, scope, ids=[batch])
        if view is None:
            return None
        with view:
            found = _batch_rows(view, _batch_select().where(batches.having_ids([event_id])))
        if not found:
            return None
        keys = _owner_keys(session, {found[0]["owner_org_id"]})
        return batches.as_dict(found[0], keys[found[0]["owner_org_id"]])
    row = session.execute(
        select(Event, Organisation.key).join(Organisation, Organisation.id == Event.owner_org_id)
        .where(Event.id == event_id, scope.events)).first()
    return None if row is None else as_dict(row[0], row[1])


def _merge(into: dict[Any, list[Any]], key: Any, n: int, events: int, first: Any,
           last: Any) -> None:
    if key not in into:
        into[key] = [0, 0, None, None]
    entry = into[key]
    entry[0] += n
    entry[1] += int(events or 0)
    entry[2] = first if entry[2] is None or (first is not None and first < entry[2]) \
        else entry[2]
    entry[3] = last if entry[3] is None or (last is not None and last > entry[3]) else entry[3]


def _iso(day: Any) -> str | None:
    return day.isoformat() if day is not None else None


def stats(session: Session, scope: Scope, filters: EventFilters | None = None) -> dict[str, Any]:
    """Counts of the visible events (rows, and events: a weekly row stands for several) by
    source, country and event type, with the first and last dates: of the rows of `events`
    and of the batches' events alike."""
    filters = filters or EventFilters()
    view = _view(session, scope, filters)
    out: dict[str, Any] = {}
    try:
        for name, column in (("by_source", Event.source), ("by_country", Event.country),
                             ("by_event_type", Event.event_type)):
            groups: dict[Any, list[Any]] = {}
            query = select(column, func.count(), func.sum(Event.events), func.min(Event.date),
                           func.max(Event.date))
            for row in session.execute(_filtered(query, scope, filters).group_by(column)):
                _merge(groups, *row)
            if view is not None:
                for row in view.run(query.where(*_clauses(filters)).group_by(column)
                                    ).fetchall():
                    _merge(groups, *row)
            out[name] = [{"key": key, "rows": n, "events": events, "first": _iso(first),
                          "last": _iso(last)}
                         for key, (n, events, first, last) in sorted(groups.items())]
        everything: dict[Any, list[Any]] = {}
        whole = select(func.count(), func.sum(Event.events), func.min(Event.date),
                       func.max(Event.date))
        _merge(everything, None, *session.execute(_filtered(whole, scope, filters)).one())
        if view is not None:
            _merge(everything, None, *view.run(whole.where(*_clauses(filters))).fetchone())
    finally:
        if view is not None:
            view.close()
    n, _, first, last = everything[None]
    out["total"] = {"rows": n, "first": _iso(first), "last": _iso(last)}
    return out


def create_report(session: Session, principal: Principal, report: ReportIn,
                  who: Who) -> int:
    """A field incident report by a signed-in user: owned by their organisation."""
    if principal.org_id is None:
        raise EventError("only a user of an organisation can file a report")
    data = report.model_dump()
    event = Event(source="report", source_id=f"report-{uuid.uuid4().hex}", period="day",
                  owner_org_id=principal.org_id, events=1,
                  extra={"reported_by": principal.username}, **data)
    event.digest = ingest.digest_of({**data, "source": "report",
                                     "source_id": event.source_id, "period": "day",
                                     "owner_org_id": principal.org_id, "events": 1,
                                     "extra": event.extra})
    session.add(event)
    session.flush()
    if event.tlp == "red":  # RED is for the users named on it: the reporter at least
        session.add(RecordShare(entity="event", record_id=event.id, user_id=principal.user_id))
    append_many(session, who, [{"action": "event.create", "entity": "event",
                                "key": str(event.id),
                                "after": {**data, "date": report.date.isoformat()}}])
    return event.id
