"""Reading and writing events: lists and counts through the sharing scope, field reports, and
the import with its audit entry. The CLI and the JSON API are thin doors over these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who, append_many
from riskatlas.parties.models import Organisation
from riskatlas.sharing.models import RecordShare
from riskatlas.sharing.policy import Principal, Scope
from riskatlas.warning import ingest, removal
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


def _filtered(query: Q, scope: Scope, filters: EventFilters) -> Q:
    query = query.where(scope.events)
    if filters.country:
        query = query.where(Event.country == filters.country.upper())
    if filters.admin1 is not None:
        query = query.where(Event.admin1 == filters.admin1)
    if filters.source:
        query = query.where(Event.source == filters.source)
    if filters.event_type:
        query = query.where(Event.event_type == filters.event_type)
    if filters.since:
        query = query.where(Event.date >= filters.since)
    if filters.until:
        query = query.where(Event.date <= filters.until)
    return query


def as_dict(event: Event, owner_key: str) -> dict[str, Any]:
    return {"id": event.id, "source": event.source, "source_id": event.source_id,
            "period": event.period, "date": event.date.isoformat(), "country": event.country,
            "admin1": event.admin1, "location": event.location, "latitude": event.latitude,
            "longitude": event.longitude, "event_type": event.event_type,
            "sub_type": event.sub_type, "actor1": event.actor1, "actor2": event.actor2,
            "fatalities": event.fatalities, "events": event.events, "notes": event.notes,
            "extra": event.extra, "owner": owner_key, "tlp": event.tlp}


def list_events(session: Session, scope: Scope, filters: EventFilters, limit: int = 100,
                offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """The events the scope shows, newest first: (total, one page)."""
    total = session.scalar(_filtered(select(func.count()).select_from(Event), scope,
                                     filters)) or 0
    rows = session.execute(
        _filtered(select(Event, Organisation.key).join(
            Organisation, Organisation.id == Event.owner_org_id), scope, filters)
        .order_by(Event.date.desc(), Event.id.desc()).limit(limit).offset(offset)).all()
    return total, [as_dict(event, key) for event, key in rows]


def get_event(session: Session, scope: Scope, event_id: int) -> dict[str, Any] | None:
    row = session.execute(
        select(Event, Organisation.key).join(Organisation, Organisation.id == Event.owner_org_id)
        .where(Event.id == event_id, scope.events)).first()
    return None if row is None else as_dict(row[0], row[1])


def stats(session: Session, scope: Scope, filters: EventFilters | None = None) -> dict[str, Any]:
    """Counts of the visible events (rows, and events: a weekly row stands for several) by
    source, country and event type, with the first and last dates."""
    filters = filters or EventFilters()
    out: dict[str, Any] = {}
    for name, column in (("by_source", Event.source), ("by_country", Event.country),
                         ("by_event_type", Event.event_type)):
        rows = session.execute(_filtered(
            select(column, func.count(), func.sum(Event.events), func.min(Event.date),
                   func.max(Event.date)), scope, filters).group_by(column).order_by(column))
        out[name] = [{"key": key, "rows": n, "events": int(events or 0),
                      "first": first.isoformat() if first else None,
                      "last": last.isoformat() if last else None}
                     for key, n, events, first, last in rows]
    total = session.execute(_filtered(select(func.count(), func.min(Event.date),
                                             func.max(Event.date)), scope, filters)).one()
    out["total"] = {"rows": total[0], "first": total[1].isoformat() if total[1] else None,
                    "last": total[2].isoformat() if total[2] else None}
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
