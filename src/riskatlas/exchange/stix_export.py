"""STIX 2.1 export: everything a scope allows, as one bundle (docs/exchange.md has the mapping).

The records come from the catalog's one read path (`records.export_document`) and the alerts
from the policy's alerts clause, both under the caller's Scope, so a STIX reader sees exactly
what the JSON export would show them. Objects are plain dicts written by orjson: building
40,000 stix2 objects (each validated property by property) costs tens of seconds, and the
fixed objects the stix2 library does help with (the extension definition) are few.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pycountry
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from riskatlas.catalog import records as rec
from riskatlas.catalog.importer import paused_gc
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Measure, Risk
from riskatlas.exchange.stix_common import (
    EXTENSION,
    EXTENSION_CREATED,
    RISK_TYPE,
    SPEC,
    TLP2_IDS,
    extension_definition,
    producer,
    stix_id,
    timestamp,
    tlp_marking,
)
from riskatlas.parties.models import Organisation, State
from riskatlas.sharing.policy import TLP_LEVELS, Scope
from riskatlas.warning.models import Alert

Obj = dict[str, Any]
# Catalog fields that STIX itself carries on a course-of-action (name, description) are kept in
# our extension as well: the multilingual texts are the record, `name` only its English title.
ACTOR_TYPES = {"state": "nation-state", "de_facto_authority": "nation-state",
               "non_state_armed_group": "terrorist", "criminal_network": "crime-syndicate",
               "organisation": "unknown", "other": "unknown"}


def clean(value: Obj) -> Obj:
    """STIX forbids null values and empty lists: drop them (import restores the defaults).

    One level, and the nested values that can hold them (grants, a source's publisher): a
    walk of every text of 40,000 records cost a third of the export."""
    out = {k: v for k, v in value.items() if v is not None and v != [] and v != {}}
    sharing = out.get("sharing")
    if isinstance(sharing, dict):
        sharing = {k: v for k, v in sharing.items() if v}
        if sharing:
            out["sharing"] = sharing
        else:
            del out["sharing"]
    sources = out.get("sources")
    if sources:
        out["sources"] = [s if s.get("publisher") is not None else
                          {k: v for k, v in s.items() if v is not None} for s in sources]
    return out


def english(text: Any, fallback: str) -> str:
    if isinstance(text, dict):
        return str(text.get("en") or next(iter(text.values()), fallback))
    return fallback


def references(sources: list[Obj]) -> list[Obj]:
    return [{"source_name": s.get("publisher") or s["title"], "description": s["title"],
             "url": s["url"]} for s in sources]


def country_code(alpha3: str) -> str | None:
    found = pycountry.countries.get(alpha_3=alpha3)
    return None if found is None else str(found.alpha_2)


def _times(first: str, updated: str, version: int) -> tuple[str, str]:
    # A first version has created == modified (STIX versioning); later ones the last change.
    return first, first if version <= 1 else max(first, updated)


def _stamp(value: Any) -> str:
    """A stored time as a STIX timestamp: a datetime, or SQLite's text of one (read as text:
    SQLAlchemy's parsing of 80,000 of them cost 0.4 s of an export)."""
    if isinstance(value, datetime):
        return timestamp(value)
    text = str(value)
    if len(text) == 26 and text[10] == " " and text[19] == ".":  # how SQLAlchemy writes them
        return f"{text[:10]}T{text[11:23]}Z"
    return timestamp(datetime.fromisoformat(text))


class _Bundle:
    """The objects of one export, with the identities and locations they refer to."""

    def __init__(self) -> None:
        self.objects: list[Obj] = []
        self.orgs: set[str] = set()
        self.states: set[str] = set()
        self.markings: set[str] = set()
        self.identities: dict[str, str] = {}
        self.ids: dict[str, str] = {}  # "risk:KEY" / "measure:KEY" -> STIX id

    def common(self, kind: str, key: str, owner: str, tlp: str, created: str,
               modified: str) -> Obj:
        creator = self.identities.get(owner)
        if creator is None:
            self.orgs.add(owner)
            creator = self.identities[owner] = stix_id("identity", owner)
        self.markings.add(tlp)
        return {"type": kind, "spec_version": SPEC, "id": stix_id(kind, key),
                "created": created, "modified": modified, "created_by_ref": creator,
                "object_marking_refs": [TLP2_IDS[tlp]]}


@dataclass(frozen=True)
class Head:
    """What a record's STIX object needs beside its export record: its times, its English
    title and summary, and which of its lists are empty. The record's texts are read raw
    (orjson fragments, written as stored: decoding and encoding them again cost a quarter of
    the export), so these few are read apart, in SQL."""

    created: str  # STIX timestamps
    updated: str
    name: str | None
    description: str | None
    empty: frozenset[str]


def _heads(session: Session, model: Any, clause: Any, lists: tuple[str, ...] = ()
           ) -> dict[str, Head]:
    # An empty list, or a JSON null (how an absent optional text is stored): STIX has neither.
    empty = [func.coalesce(cast(getattr(model, name), Text), "null").in_(("[]", "null"))
             for name in lists]
    times = [model.created_at, model.updated_at]
    if session.get_bind().dialect.name == "sqlite":
        times = [cast(column, Text) for column in times]
    rows = session.execute(select(model.key, *times, model.title["en"].as_string(),
                                  model.summary["en"].as_string(), *empty).where(clause))
    return {key: Head(_stamp(created), _stamp(updated), name, description,
                      frozenset(n for n, e in zip(lists, flags, strict=True) if e))
            for key, created, updated, name, description, *flags in rows}


def risk_object(b: _Bundle, r: Obj, head: Head) -> Obj:
    created, modified = _times(head.created, head.updated, r["version"])
    obj = b.common(RISK_TYPE, r["key"], r["owner"], r["tlp"], created, modified)
    b.states.update(r["states"])
    obj["name"] = head.name or r["key"]
    obj["description"] = head.description or ""
    for name in head.empty:
        del r[name]
    if r["status"] == "retired":
        obj["revoked"] = True
    if r["sources"]:
        obj["external_references"] = references(r["sources"])
    # Every catalog field, under its catalog name (derived ones too: they are what the
    # owner's node computed, and an import recomputes its own).
    obj.update(clean({name: value for name, value in r.items() if name not in obj}))
    obj["extensions"] = {EXTENSION: {"extension_type": "new-sdo"}}
    return obj


def measure_object(b: _Bundle, m: Obj, head: Head) -> Obj:
    created, modified = _times(head.created, head.updated, m["version"])
    obj = b.common("course-of-action", m["key"], m["owner"], m["tlp"], created, modified)
    b.orgs.add(m["lead"])
    b.states.update(m["states"])
    obj["name"] = head.name or m["key"]
    if head.description:
        obj["description"] = head.description
    for name in head.empty:
        del m[name]
    if m["status"] == "retired":
        obj["revoked"] = True
    if m["sources"]:
        obj["external_references"] = references(m["sources"])
    obj["extensions"] = {EXTENSION: clean({"extension_type": "property-extension", **m})}
    return obj


def link_objects(b: _Bundle, measures: list[Obj], risks: dict[str, Obj],
                 modified: dict[str, str]) -> None:
    """`mitigates` for each link a measure claims (pending or accepted) to a visible risk.

    A pending link says so in our extension (an accepted one is the plain claim). Written as
    literals, from values looked up once per record: there are 60,000 of them."""
    rank = {tlp: n for n, tlp in enumerate(TLP_LEVELS)}
    pending = {EXTENSION: {"extension_type": "property-extension", "status": "pending"}}
    for m in measures:
        mkey, mrank = m["key"], rank[m["tlp"]]
        source, m_when = b.ids[f"measure:{mkey}"], modified[f"m:{mkey}"]
        for link in m["links"]:
            risk = risks.get(link["risk"])
            if risk is None or link["status"] == "rejected":
                continue
            rkey = risk["key"]
            tlp = TLP_LEVELS[max(mrank, rank[risk["tlp"]])]  # it reveals both
            when = max(m_when, modified[f"r:{rkey}"])
            obj = b.common("relationship", f"{mkey}>{rkey}", risk["owner"], tlp, when, when)
            obj["relationship_type"] = "mitigates"
            obj["source_ref"] = source
            obj["target_ref"] = b.ids[f"risk:{rkey}"]
            if link["status"] == "pending":
                obj["extensions"] = pending
            b.objects.append(obj)


DERIVED = re.compile(r"^(.+)-D[0-9A-F]{6}$")  # stix_mapping.derived_key


def derived_objects(b: _Bundle, records: list[Obj], modified: dict[str, str]) -> None:
    """`derived-from` from a record an import kept beside another (its key is the other's with
    a `-D` suffix, stix_import) to that record, when the reader sees both."""
    tlps = {("risk" if "category" in r else "measure", r["key"]): r["tlp"] for r in records}
    for r in records:
        match = DERIVED.match(r["key"])
        entity = "risk" if "category" in r else "measure"
        base = match and match.group(1)
        if not base or (entity, base) not in tlps:
            continue
        tlp = max(r["tlp"], tlps[(entity, base)], key=TLP_LEVELS.index)
        when = modified[f"{entity[0]}:{r['key']}"]
        obj = b.common("relationship", f"{r['key']}<{base}", r["owner"], tlp, when, when)
        obj.update({"relationship_type": "derived-from",
                    "source_ref": b.ids[f"{entity}:{r['key']}"],
                    "target_ref": b.ids[f"{entity}:{base}"]})
        b.objects.append(obj)


def actor_objects(actors: Iterable[Obj]) -> list[Obj]:
    out = []
    for a in actors:
        out.append({"type": "threat-actor", "spec_version": SPEC,
                    "id": stix_id("threat-actor", a["key"]), "created": EXTENSION_CREATED,
                    "modified": EXTENSION_CREATED, "name": english(a["name"], a["key"]),
                    "threat_actor_types": [ACTOR_TYPES.get(a["kind"], "unknown")],
                    "extensions": {EXTENSION: {"extension_type": "property-extension", **a}}})
    return out


def alert_objects(b: _Bundle, session: Session, scope: Scope, risks: dict[str, Obj]) -> None:
    """Alerts as notes on the risks they point at (those the reader sees), else on the
    country: a note needs at least one object."""
    rows = session.execute(select(Alert, Organisation.key).join(
        Organisation, Organisation.id == Alert.owner_org_id).where(scope.alerts)
        .order_by(Alert.period_start, Alert.cell))
    for alert, owner in rows:
        created = timestamp(alert.created_at)
        modified = max(created, timestamp(alert.updated_at))
        obj = b.common("note", f"{alert.cell}|{alert.tier}", owner, alert.tlp, created,
                       modified)
        shown = [k for k in alert.risks if k in risks]  # a hidden risk is not even named
        refs = [b.ids[f"risk:{k}"] for k in shown]
        if not refs:
            b.states.add(alert.country)
            refs = [stix_id("location", alert.country)]
        expected = "" if alert.expected is None else f", expected {alert.expected:g}"
        obj.update({
            "abstract": f"Alert: {alert.indicator} in {alert.country}",
            "content": f"{alert.indicator} in {alert.country}"
                       f"{' / ' + alert.admin1 if alert.admin1 else ''}, {alert.period} from "
                       f"{alert.period_start.isoformat()} to {alert.period_end.isoformat()}: "
                       f"observed {alert.observed:g}{expected} (severity {alert.severity}, "
                       f"{alert.detector}).",
            "object_refs": refs,
            "extensions": {EXTENSION: clean({
                "extension_type": "property-extension", "indicator": alert.indicator,
                "country": alert.country, "admin1": alert.admin1, "period": alert.period,
                "period_start": alert.period_start.isoformat(),
                "period_end": alert.period_end.isoformat(), "observed": alert.observed,
                "expected": alert.expected, "score": alert.score,
                "probability": alert.probability, "severity": alert.severity,
                "detector": alert.detector, "risks": shown,
                "status": alert.status})}})
        b.objects.append(obj)


def party_objects(session: Session, orgs: set[str], states: set[str]) -> list[Obj]:
    """Identities of the organisations and locations of the states the records name."""
    out: list[Obj] = []
    for org in session.scalars(select(Organisation).where(Organisation.key.in_(sorted(orgs)))
                               .order_by(Organisation.key)):
        out.append({"type": "identity", "spec_version": SPEC, "id": stix_id("identity", org.key),
                    "created": EXTENSION_CREATED, "modified": EXTENSION_CREATED,
                    "name": english(org.name, org.key), "identity_class": "organization",
                    "sectors": ["government-national"],
                    "extensions": {EXTENSION: clean({
                        "extension_type": "property-extension", "key": org.key,
                        "name": org.name, "state": org.state_code, "standing": org.standing})}})
        if org.state_code:
            states.add(org.state_code)
    for state in session.scalars(select(State).where(State.code.in_(sorted(states)))
                                 .order_by(State.code)):
        obj: Obj = {"type": "location", "spec_version": SPEC,
                    "id": stix_id("location", state.code), "created": EXTENSION_CREATED,
                    "modified": EXTENSION_CREATED, "name": english(state.name, state.code)}
        alpha2 = country_code(state.code)
        if alpha2 is not None:
            obj["country"] = alpha2
        else:  # a location needs a country, a region or coordinates
            obj["region"] = "central-asia"
        obj["extensions"] = {EXTENSION: clean({"extension_type": "property-extension",
                                               "code": state.code, "name": state.name,
                                               "role": state.role})}
        out.append(obj)
    return out


def export_bundle(session: Session, matrix: Matrix, scope: Scope,
                  aggregation: str = "max") -> Obj:
    """The STIX 2.1 bundle of everything `scope` allows (records, links, actors, alerts), with
    the identities, locations and TLP markings they refer to."""
    with paused_gc():
        doc = rec.export_document(session, matrix, scope, aggregation, raw_json=True)
        risk_stamps = _heads(session, Risk, scope.risks, ("drivers", "warning_signs"))
        measure_stamps = _heads(session, Measure, scope.measures, ("rationale",))
        b = _Bundle()
        risks = {r["key"]: r for r in doc["risks"]}
        modified: dict[str, str] = {}
        for r in doc["risks"]:
            obj = risk_object(b, r, risk_stamps[r["key"]])
            modified[f"r:{r['key']}"] = obj["modified"]
            b.ids[f"risk:{r['key']}"] = obj["id"]
            b.objects.append(obj)
        for m in doc["measures"]:
            obj = measure_object(b, m, measure_stamps[m["key"]])
            modified[f"m:{m['key']}"] = obj["modified"]
            b.ids[f"measure:{m['key']}"] = obj["id"]
            b.objects.append(obj)
        link_objects(b, doc["measures"], risks, modified)
        derived_objects(b, [*doc["risks"], *doc["measures"]], modified)
        b.objects += actor_objects(doc["actors"])
        alert_objects(b, session, scope, risks)
        head = [producer(), extension_definition(),
                *(tlp_marking(t) for t in TLP_LEVELS if t in b.markings),
                *party_objects(session, b.orgs, b.states)]
        bundle_key = ",".join(sorted(o["id"] + o["modified"] for o in b.objects))
        return {"type": "bundle", "id": stix_id("bundle", bundle_key),
                "objects": head + b.objects}


def dumps(bundle: Obj, indent: bool = False) -> bytes:
    return orjson.dumps(bundle, option=orjson.OPT_INDENT_2 if indent else 0)
