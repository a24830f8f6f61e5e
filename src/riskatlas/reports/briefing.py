"""What goes into a meeting's briefing pack, read through the requester's scope.

Every figure comes from a grouped statement or a bounded page (the top ten risks, the latest
changes, the overdue measures, the alerts), so a pack of a 10,000-risk catalog reads tens of
rows, not the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskatlas.catalog import queries
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Measure, Risk, Version
from riskatlas.governance import meetings, proposals
from riskatlas.sharing.policy import Scope
from riskatlas.warning import alerts

# Measures still to deliver: an end date passed while in one of these is overdue.
OPEN_MEASURES = ("proposed", "agreed", "in_progress")
# Without a previous meeting, "what changed" covers this many days before the meeting.
FIRST_WINDOW_DAYS = 90
TOP = 10
CHANGES_SHOWN = 25
ALERTS_SHOWN = 20
OVERDUE_SHOWN = 25



@dataclass
class Briefing:
    meeting: dict[str, Any]
    previous: dict[str, Any] | None
    since: date
    matrix: Matrix
    heat: dict[tuple[int, int], int]
    risks_total: int
    by_level: dict[int, int]
    top: list[dict[str, Any]]
    changes_total: int
    changes: list[dict[str, Any]]
    measures_total: int
    measures_by_status: dict[str, int]
    overdue_total: int
    overdue: list[dict[str, Any]]
    open_proposals: list[dict[str, Any]]
    alerts_total: int
    alerts: list[dict[str, Any]]
    alerts_by_severity: dict[int, int] = field(default_factory=dict)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _start(day: date) -> datetime:
    """Midnight UTC opening `day` (version times are stored in UTC)."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def gather(session: Session, matrix: Matrix, scope: Scope, meeting_id: int) -> Briefing:
    """The pack's contents for one meeting (queries.NotFound for no such meeting)."""
    meeting = meetings.get_meeting(session, scope, meeting_id)
    previous = meetings.previous_meeting(session, scope, meeting_id)
    on = _day(meeting["date"])
    since = _day(previous["date"]) if previous else on - timedelta(days=FIRST_WINDOW_DAYS)
    heat = queries.heat_map(session, matrix, scope, residual_view=True)
    by_level: dict[int, int] = {}
    for (lik, imp), n in heat.items():
        level = matrix.level(lik, imp)
        by_level[level] = by_level.get(level, 0) + n
    total, top = queries.list_risks(session, matrix, scope, queries.RiskFilters(), limit=TOP,
                                    sort="-residual_level")
    changes_total, changes = _changes(session, scope, since, on)
    statuses = {status: n for status, n in session.execute(
        select(Measure.status, func.count()).where(scope.measures).group_by(Measure.status))}
    overdue_where = (scope.measures, Measure.status.in_(OPEN_MEASURES),
                     Measure.end.is_not(None), Measure.end < on.isoformat())
    overdue_total = int(session.scalar(select(func.count()).select_from(Measure)
                                       .where(*overdue_where)) or 0)
    overdue = [{"key": m.key, "title": m.title, "status": m.status, "end": m.end,
                "progress": m.progress}
               for m in session.scalars(select(Measure).where(*overdue_where)
                                        .order_by(Measure.end, Measure.key)
                                        .limit(OVERDUE_SHOWN))]
    open_items = [proposals.get_proposal(session, matrix, scope, p["id"], on=on)
                  for p in proposals.list_proposals(session, scope, status="open")]
    filters = alerts.AlertFilters(since=since, until=on)
    alerts_total, shown = alerts.list_alerts(session, scope, filters, ALERTS_SHOWN)
    # Counts by severity from the totals at or above each level (one count each, no rows).
    at_least = {level: alerts.list_alerts(
        session, scope, alerts.AlertFilters(since=since, until=on, min_severity=level), 1)[0]
        for level in (2, 3, 4)} if alerts_total else dict.fromkeys((2, 3, 4), 0)
    at_least[1], at_least[5] = alerts_total, 0
    severities = {level: at_least[level] - at_least[level + 1] for level in (1, 2, 3, 4)}
    return Briefing(
        meeting=meeting, previous=previous, since=since, matrix=matrix, heat=heat,
        risks_total=total, by_level=by_level, top=top, changes_total=changes_total,
        changes=changes, measures_total=sum(statuses.values()),
        measures_by_status={k: int(v) for k, v in statuses.items()},
        overdue_total=overdue_total, overdue=overdue, open_proposals=open_items,
        alerts_total=alerts_total, alerts=shown, alerts_by_severity=severities)


def _changes(session: Session, scope: Scope, since: date, on: date
             ) -> tuple[int, list[dict[str, Any]]]:
    """Saved versions of the risks and measures the scope sees, from `since` (exclusive: the
    previous meeting's day counts then) to the end of `on`, latest first."""
    start, end = _start(since + timedelta(days=1)), _start(on + timedelta(days=1))
    parts = []
    for entity, model, seen in (("risk", Risk, scope.risks), ("measure", Measure,
                                                                 scope.measures)):
        parts.append(select(Version.entity, Version.key, Version.version, Version.change,
                            Version.changed_at, Version.changed_by, model.title)
                     .join(model, model.key == Version.key)
                     .where(Version.entity == entity, seen, Version.changed_at >= start,
                            Version.changed_at < end))
    total = 0
    rows: list[Any] = []
    for stmt in parts:
        total += int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        rows += session.execute(stmt.order_by(Version.changed_at.desc())
                                .limit(CHANGES_SHOWN)).all()
    rows.sort(key=lambda r: (r.changed_at, r.key), reverse=True)
    return total, [{"entity": r.entity, "key": r.key, "version": r.version,
                    "change": r.change, "at": r.changed_at, "by": r.changed_by,
                    "title": r.title} for r in rows[:CHANGES_SHOWN]]
