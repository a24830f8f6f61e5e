"""The read model: catalog records in the export shape, built with a handful of set queries.

One query path feeds the CLI, the JSON API, HTML pages, CSV and (later) STIX and reports, and
every call takes a sharing Scope, so no reader can skip the policy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session, aliased

from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import (
    Actor,
    Assessment,
    Measure,
    MeasureState,
    Risk,
    RiskActor,
    RiskMeasure,
    RiskState,
    Source,
)
from riskatlas.catalog.scoring import regional
from riskatlas.parties.models import Organisation, User
from riskatlas.sharing.models import RecordShare, SharingGroup
from riskatlas.sharing.policy import Scope

Record = dict[str, Any]


def _grouped(session: Session, stmt: Select[Any, Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(stmt):
        out[row[0]].append(row[1] if len(row) == 2 else row[1:])
    return out


def _sources(session: Session, column: Any, ids: Any) -> dict[int, list[Record]]:
    stmt = (
        select(column, Source.title, Source.url, Source.published, Source.publisher)
        .where(column.in_(ids))
        .order_by(column, Source.position)
    )
    out: dict[int, list[Record]] = defaultdict(list)
    for owner, title, url, published, publisher in session.execute(stmt):
        out[owner].append(
            {"title": title, "url": url, "published": published, "publisher": publisher}
        )
    return out


def _shares(session: Session, entity: str, ids: Any) -> dict[int, Record]:
    stmt = (
        select(RecordShare.record_id, SharingGroup.key, Organisation.key, User.username)
        .outerjoin(SharingGroup, SharingGroup.id == RecordShare.group_id)
        .outerjoin(Organisation, Organisation.id == RecordShare.org_id)
        .outerjoin(User, User.id == RecordShare.user_id)
        .where(RecordShare.entity == entity, RecordShare.record_id.in_(ids))
        .order_by(RecordShare.id)
    )
    out: dict[int, Record] = {}
    for record_id, group, org, user in session.execute(stmt):
        grants = out.setdefault(record_id, empty_sharing())
        for name, value in (("groups", group), ("orgs", org), ("users", user)):
            if value is not None:
                grants[name].append(value)
    return out


def empty_sharing() -> Record:
    return {"groups": [], "orgs": [], "users": []}


def risk_records(
    session: Session,
    matrix: Matrix,
    scope: Scope,
    where: Sequence[ColumnElement[bool]] = (),
    order: Sequence[Any] = (Risk.key,),
    limit: int | None = None,
    offset: int = 0,
    aggregation: str = "max",
) -> list[Record]:
    """Risks the scope allows, matching `where`, in the export shape.

    `regional` combines the members' national assessments by the aggregation rule.
    """
    owner = aliased(Organisation)
    ids = select(Risk.id).where(scope.risks, *where).order_by(*order).offset(offset)
    if limit is not None:
        ids = ids.limit(limit)
    id_list = ids.subquery()
    rows = session.execute(
        select(Risk, owner.key).join(owner, owner.id == Risk.owner_org_id)
        .where(Risk.id.in_(select(id_list.c.id))).order_by(*order)
    ).all()
    in_ids = select(id_list.c.id)
    states = _grouped(session, select(RiskState.risk_id, RiskState.state_code)
                      .where(RiskState.risk_id.in_(in_ids)).order_by(RiskState.position))
    actors = _grouped(session, select(RiskActor.risk_id, Actor.key).join(Actor)
                      .where(RiskActor.risk_id.in_(in_ids)).order_by(RiskActor.position))
    measures = _grouped(session, select(RiskMeasure.risk_id, Measure.key).join(Measure)
                        .where(RiskMeasure.risk_id.in_(in_ids), scope.measures)
                        .order_by(Measure.key))
    assessments = _grouped(session, select(
        Assessment.risk_id, Assessment.state_code, Assessment.likelihood, Assessment.impact,
        Assessment.rationale).where(Assessment.risk_id.in_(in_ids))
        .order_by(Assessment.state_code))
    sources = _sources(session, Source.risk_id, in_ids)
    shares = _shares(session, "risk", in_ids)
    out = []
    for risk, owner_key in rows:
        national = assessments.get(risk.id, [])
        combined = regional(matrix, [(lik, imp) for _, lik, imp, _ in national], aggregation)
        out.append({
            "key": risk.key,
            "title": risk.title,
            "summary": risk.summary,
            "category": risk.category,
            "domain": risk.domain,
            "states": states.get(risk.id, []),
            "actors": actors.get(risk.id, []),
            "likelihood": matrix.label("likelihood", risk.likelihood),
            "impact": matrix.label("impact", risk.impact),
            "level": matrix.label("level", risk.level),
            "residual_level": matrix.label("level", risk.residual_level),
            "rationale": risk.rationale,
            "trend": risk.trend,
            "horizon": risk.horizon,
            "drivers": risk.drivers,
            "warning_signs": risk.warning_signs,
            "sources": sources.get(risk.id, []),
            "assessments": [
                {"state": s, "likelihood": matrix.label("likelihood", lik),
                 "impact": matrix.label("impact", imp), "rationale": why}
                for s, lik, imp, why in national
            ],
            "regional": None if combined is None else {
                "likelihood": matrix.label("likelihood", combined[0]),
                "impact": matrix.label("impact", combined[1]),
                "level": matrix.label("level", combined[2]), "rule": aggregation},
            "tlp": risk.tlp,
            "status": risk.status,
            "owner": owner_key,
            "sharing": shares.get(risk.id) or empty_sharing(),
            "measures": measures.get(risk.id, []),
            "version": risk.version,
        })
    return out


def measure_records(
    session: Session,
    scope: Scope,
    where: Sequence[ColumnElement[bool]] = (),
    order: Sequence[Any] = (Measure.key,),
    limit: int | None = None,
    offset: int = 0,
) -> list[Record]:
    """Measures the scope allows, matching `where`, in the export shape."""
    owner = aliased(Organisation)
    lead = aliased(Organisation)
    ids = select(Measure.id).where(scope.measures, *where).order_by(*order).offset(offset)
    if limit is not None:
        ids = ids.limit(limit)
    id_list = ids.subquery()
    in_ids = select(id_list.c.id)
    rows = session.execute(
        select(Measure, owner.key, lead.key)
        .join(owner, owner.id == Measure.owner_org_id)
        .join(lead, lead.id == Measure.lead_org_id)
        .where(Measure.id.in_(in_ids)).order_by(*order)
    ).all()
    states = _grouped(session, select(MeasureState.measure_id, MeasureState.state_code)
                      .where(MeasureState.measure_id.in_(in_ids))
                      .order_by(MeasureState.position))
    risks = _grouped(session, select(RiskMeasure.measure_id, Risk.key).join(Risk)
                     .where(RiskMeasure.measure_id.in_(in_ids), scope.risks)
                     .order_by(RiskMeasure.position))
    sources = _sources(session, Source.measure_id, in_ids)
    shares = _shares(session, "measure", in_ids)
    out = []
    for measure, owner_key, lead_key in rows:
        out.append({
            "key": measure.key,
            "title": measure.title,
            "summary": measure.summary,
            "kind": measure.kind,
            "treatment": measure.treatment,
            "lead": lead_key,
            "states": states.get(measure.id, []),
            "status": measure.status,
            "effect": {"likelihood": measure.effect_likelihood, "impact": measure.effect_impact},
            "risks": risks.get(measure.id, []),
            "start": measure.start,
            "end": measure.end,
            "progress": measure.progress,
            "sources": sources.get(measure.id, []),
            "tlp": measure.tlp,
            "owner": owner_key,
            "sharing": shares.get(measure.id) or empty_sharing(),
            "version": measure.version,
        })
    return out


def actor_records(session: Session) -> list[Record]:
    return [
        {"key": a.key, "name": a.name, "kind": a.kind}
        for a in session.scalars(select(Actor).order_by(Actor.key))
    ]


def export_document(
    session: Session, matrix: Matrix, scope: Scope, aggregation: str = "max"
) -> dict[str, list[Record]]:
    """The whole catalog the scope allows, as `riskatlas export` and /api/v1/export give it."""
    return {"risks": risk_records(session, matrix, scope, aggregation=aggregation),
            "measures": measure_records(session, scope),
            "actors": actor_records(session)}
