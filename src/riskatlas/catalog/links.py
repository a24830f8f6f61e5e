"""Links between measures and risks, and who decides them.

A link belongs to the risk's owner. A measure names the risks it treats (its `risks`); a link
that the risk's owner did not make is `pending` and never changes the risk's residual rating
until an editor of the risk's owner accepts it. The risk names the measures it accepted
(`measures`) and those it rejected (`rejected_measures`); a link it drops from both is removed.
Rejected links stay rejected (the measure no longer lists the risk) until the measure's owner
names the risk again, which proposes the link anew.

Writers only touch links they can see: links to records outside the writer's sharing scope are
kept as they are, whatever the input says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from riskatlas.catalog.importer import Batch
from riskatlas.catalog.models import Measure, Risk, RiskMeasure
from riskatlas.catalog.schemas import MeasureIn, RiskIn
from riskatlas.parties.models import Organisation
from riskatlas.sharing.policy import scope_for

CHUNK = 500
Pair = tuple[int, int]  # (risk id, measure id)


def _ids(session: Session, model: Any, keys: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(keys))
    out: dict[str, int] = {}
    for i in range(0, len(wanted), CHUNK):
        out.update(session.execute(select(model.key, model.id)
                                   .where(model.key.in_(wanted[i:i + CHUNK]))).all())
    return out


def _chunks(values: Iterable[int]) -> Iterable[list[int]]:
    items = sorted(set(values))
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def write(
    session: Session, batch: Batch, measures: Sequence[MeasureIn], risks: Sequence[RiskIn],
    risk_ids: dict[str, int], measure_ids: dict[str, int],
) -> set[int]:
    """Write the links of the changed measures and risks; return the ids of risks whose
    accepted links changed (their residual rating must be computed again)."""
    if not measures and not risks:
        return set()
    risk_of = _ids(session, Risk, {k for m in measures for k in m.risks} - risk_ids.keys())
    risk_of.update(risk_ids)
    measure_of = _ids(session, Measure, {k for r in risks for k in
                                         (*r.measures, *r.rejected_measures)}
                      - measure_ids.keys())
    measure_of.update(measure_ids)
    risk_key = {rid: key for key, rid in risk_of.items()}
    changed_measures = [measure_of[m.key] for m in measures]
    changed_risks = [risk_of[r.key] for r in risks]
    before = _stored(session, set(changed_risks), set(changed_measures))
    state = _State(before)
    owners = _owners(session, risk_of.values())
    visible_risks, visible_measures = _visible(
        session, batch, {*risk_of.values(), *(r for r, _ in before)},
        {*measure_of.values(), *(m for _, m in before)})
    # A risk in the batch that names its measures decides its links itself, whoever writes
    # the measure side (a stored risk always does: the validation completed it).
    decided = {r.key: (set(r.measures), set(r.rejected_measures)) for r in batch.risks
               if _decides(r)}

    def proposed(rid: int, mkey: str) -> str:
        if risk_key[rid] in decided:
            accepted, rejected = decided[risk_key[rid]]
            return ("accepted" if mkey in accepted else "rejected" if mkey in rejected
                    else "pending")
        return "accepted" if batch.writer.may_change(owners.get(rid)) else "pending"

    for measure, mid in zip(measures, changed_measures, strict=True):
        listed = [risk_of[k] for k in measure.risks]
        for rid in list(state.by_measure.get(mid, ())):
            if (rid not in listed and rid in visible_risks
                    and state.links[(rid, mid)][0] != "rejected"):
                state.drop(rid, mid)
        for position, rid in enumerate(listed):
            status = state.links.get((rid, mid), ("rejected", 0))[0]
            if status == "rejected":  # new, or named again after a rejection
                status = proposed(rid, measure.key)
            state.put(rid, mid, status, position)

    for risk, rid in zip(risks, changed_risks, strict=True):
        if not _decides(risk):
            continue
        accepted = {measure_of[k] for k in risk.measures}
        rejected = {measure_of[k] for k in risk.rejected_measures}
        for mid in list(state.by_risk.get(rid, ())):
            if mid not in visible_measures:
                continue
            status, position = state.links[(rid, mid)]
            if mid in accepted:
                state.put(rid, mid, "accepted", position)
            elif mid in rejected:
                state.put(rid, mid, "rejected", position)
            elif status != "pending":
                state.drop(rid, mid)
        for mid in sorted(accepted | rejected):
            if (rid, mid) not in state.links:
                # Measures not written in this batch: their other links are not loaded, so
                # the new link goes after any plausible position.
                last = max((state.links[(r, mid)][1] for r in state.by_measure.get(mid, ())),
                           default=-1)
                state.put(rid, mid, "accepted" if mid in accepted else "rejected",
                          last + 1 if mid in measure_ids.values() else 1000)

    after = state.links
    _apply(session, before, after)
    # Rated again: risks whose accepted links changed, and those a changed measure treats
    # (its status or effect may be what changed).
    written = set(changed_measures)
    return {rid for (rid, mid) in before.keys() | after.keys()
            if (before.get((rid, mid), ("", 0))[0] == "accepted")
            != (after.get((rid, mid), ("", 0))[0] == "accepted")
            or (mid in written and after.get((rid, mid), ("", 0))[0] == "accepted")}


def _decides(risk: RiskIn) -> bool:
    return bool({"measures", "rejected_measures"} & risk.model_fields_set)


class _State:
    """The links being decided, indexed both ways."""

    def __init__(self, links: dict[Pair, tuple[str, int]]) -> None:
        self.links = dict(links)
        self.by_measure: dict[int, set[int]] = {}
        self.by_risk: dict[int, set[int]] = {}
        for rid, mid in links:
            self.by_measure.setdefault(mid, set()).add(rid)
            self.by_risk.setdefault(rid, set()).add(mid)

    def put(self, rid: int, mid: int, status: str, position: int) -> None:
        self.links[(rid, mid)] = (status, position)
        self.by_measure.setdefault(mid, set()).add(rid)
        self.by_risk.setdefault(rid, set()).add(mid)

    def drop(self, rid: int, mid: int) -> None:
        del self.links[(rid, mid)]
        self.by_measure[mid].discard(rid)
        self.by_risk[rid].discard(mid)


def _stored(session: Session, risk_ids: set[int], measure_ids: set[int]
            ) -> dict[Pair, tuple[str, int]]:
    out: dict[Pair, tuple[str, int]] = {}
    for column, ids in ((RiskMeasure.risk_id, risk_ids), (RiskMeasure.measure_id, measure_ids)):
        for part in _chunks(ids):
            for rid, mid, status, position in session.execute(
                select(RiskMeasure.risk_id, RiskMeasure.measure_id, RiskMeasure.status,
                       RiskMeasure.position).where(column.in_(part))
            ):
                out[(rid, mid)] = (status, position)
    return out


def _owners(session: Session, risk_ids: Iterable[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in _chunks(risk_ids):
        out.update(session.execute(select(Risk.id, Organisation.key)
                                   .join(Organisation, Organisation.id == Risk.owner_org_id)
                                   .where(Risk.id.in_(part))).all())
    return out


def _visible(session: Session, batch: Batch, risk_ids: Iterable[int],
             measure_ids: Iterable[int]) -> tuple[set[int], set[int]]:
    """The involved records the writer can see (the local operator sees them all)."""
    risks, measures = set(risk_ids), set(measure_ids)
    principal = batch.writer.principal
    if principal is None:
        return risks, measures
    scope = scope_for(principal)
    seen_risks: set[int] = set()
    seen_measures: set[int] = set()
    for part in _chunks(risks):
        seen_risks.update(session.scalars(select(Risk.id).where(Risk.id.in_(part),
                                                                 scope.risks)))
    for part in _chunks(measures):
        seen_measures.update(session.scalars(select(Measure.id).where(Measure.id.in_(part),
                                                                       scope.measures)))
    return seen_risks, seen_measures


def _apply(session: Session, before: dict[Pair, tuple[str, int]],
           after: dict[Pair, tuple[str, int]]) -> None:
    table: Any = RiskMeasure.__table__
    gone = [pair for pair in before if pair not in after]
    new = [{"risk_id": r, "measure_id": m, "status": s, "position": p}
           for (r, m), (s, p) in after.items() if (r, m) not in before]
    moved = [{"_r": r, "_m": m, "status": s, "position": p}
             for (r, m), (s, p) in after.items() if (r, m) in before and before[(r, m)] != (s, p)]
    for i in range(0, len(gone), CHUNK):
        session.execute(delete(RiskMeasure).where(or_(*(
            and_(RiskMeasure.risk_id == r, RiskMeasure.measure_id == m)
            for r, m in gone[i:i + CHUNK]))))
    if new:
        session.execute(insert(table), new)
    if moved:
        session.execute(update(table).where(table.c.risk_id == bindparam("_r"),
                                            table.c.measure_id == bindparam("_m")), moved)
