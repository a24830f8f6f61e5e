"""STIX 2.1 import in two phases, as for catalog files: `plan_import` reads and validates the
whole bundle (raising StixError with every problem, nothing written), `write_import` writes the
plan in the caller's transaction and returns the report.

Versions (STIX `(id, modified)`): a record already here is replaced only by a newer version
from its own creator (the organisation that owns it); any other version is kept as a separate
record beside it (docs/exchange.md says what of `derived-from` the schema can hold).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pycountry
from pydantic import Field, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from riskatlas.audit.service import Who
from riskatlas.catalog import checks
from riskatlas.catalog.files import Item
from riskatlas.catalog.importer import Batch, ImportError_, validate_items
from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Actor, Measure, Risk, Version
from riskatlas.catalog.schemas import MeasureIn
from riskatlas.catalog.service import DEFAULT_OWNER, Counts, save
from riskatlas.exchange.stix_common import (
    EXTENSION,
    PRODUCER,
    RISK_TYPE,
    ours,
    parse_timestamp,
    stix_id,
)
from riskatlas.exchange.stix_mapping import ID, Mapper, Obj, Tally, derived_key
from riskatlas.parties.models import Organisation, State, User
from riskatlas.sharing.models import SharingGroup
from riskatlas.sharing.policy import Principal

RECORD_TYPES = {RISK_TYPE: "risks", "course-of-action": "measures"}
ACTOR_TYPES = ("threat-actor", "intrusion-set")


class StixError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


class Standalone(MeasureIn):
    """A measure that treats no risk yet: what a course-of-action from another tool often is."""

    risks: list[str] = Field(default_factory=list, max_length=2000)


@dataclass
class Plan:
    batch: Batch
    tally: Tally
    # (section, key) -> (version, created, modified) of records that came from our own types
    origin: dict[tuple[str, str], tuple[int, str, str]] = field(default_factory=dict)
    derived: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class Report:
    counts: Counts
    plan: Plan

    def lines(self) -> list[str]:
        t = self.plan.tally
        out = [f"Imported: {self.counts} ({self.plan.unchanged} already here at that version)."]
        out += [f"Kept as a separate record: {line}" for line in self.plan.derived]
        for title, counter in (("Skipped object types", t.types),
                               ("Skipped properties", t.properties),
                               ("Not matched", t.unmatched), ("Notes", t.notes)):
            if counter:
                out.append(f"{title}: {sum(counter.values())}")
                out += [f"  {name}: {n}" for name, n in sorted(counter.items())]
        return out


def read_bundle(path: Path) -> list[Obj]:
    """The objects of a bundle file (StixError naming the file when it is not one)."""
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise StixError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except orjson.JSONDecodeError as exc:
        raise StixError([f"{path}: not JSON: {exc}"]) from None
    if not isinstance(doc, dict) or doc.get("type") != "bundle":
        raise StixError([f"{path}: not a STIX bundle (no \"type\": \"bundle\" at the top)"])
    objects = doc.get("objects", [])
    if not isinstance(objects, list):
        raise StixError([f"{path}: objects: expected a list"])
    return objects


def _checked(path: Path, objects: list[Any]) -> tuple[list[Obj], list[str]]:
    """Well-formed objects, the latest version of each id; and the problems of the others."""
    problems: list[str] = []
    latest: dict[str, Obj] = {}
    for i, obj in enumerate(objects):
        where = f"{path}: objects[{i}]"
        if not isinstance(obj, dict):
            problems.append(f"{where}: expected an object")
            continue
        sid, kind = str(obj.get("id")), obj.get("type")
        match = ID.match(sid) if isinstance(obj.get("id"), str) else None
        if match is None or match.group(1) != kind:
            problems.append(f"{where}: id: {obj.get('id')!r} is not a STIX id of type "
                            f"{kind!r}")
            continue
        bad = False
        for name in ("created", "modified"):
            if name not in obj and kind in {*RECORD_TYPES, "relationship"}:
                problems.append(f"{path}: {sid}: {name}: required field is missing")
                bad = True
            elif name in obj:
                try:
                    parse_timestamp(str(obj[name]))
                except ValueError:
                    problems.append(f"{path}: {sid}: {name}: {obj[name]!r} is not a timestamp")
                    bad = True
        if bad:
            continue
        old = latest.get(sid)
        if old is None or str(obj.get("modified", "")) > str(old.get("modified", "")):
            latest[sid] = obj
    return list(latest.values()), problems


def _mapper(session: Session) -> Mapper:
    orgs: dict[str, dict[str, Any]] = {}
    for key, name, state in session.execute(
            select(Organisation.key, Organisation.name, Organisation.state_code)):
        names = {str(v).strip().lower() for v in (name or {}).values()} | {key.lower()}
        orgs[key] = {"names": names, "state": state}
    states = dict(session.execute(select(State.code, State.role)).all())
    alpha2 = {}
    for code in states:
        found = pycountry.countries.get(alpha_3=code)
        if found is not None:
            alpha2[str(found.alpha_2)] = code
    return Mapper(orgs, states, alpha2)


def plan_import(session: Session, matrix: Matrix, path: Path, objects: list[Any],
                principal: Principal | None = None) -> Plan:
    """Phase one: map and validate every object; StixError lists every problem."""
    checked, problems = _checked(path, objects)
    m = _mapper(session)
    writer = checks.writer_for(session, principal)
    home = (principal.org_key if principal is not None else None) or DEFAULT_OWNER
    by_type: dict[str, list[Obj]] = {}
    for obj in checked:
        by_type.setdefault(obj["type"], []).append(obj)
    for obj in by_type.get("marking-definition", []):
        m.marking(obj)
    for obj in by_type.get("identity", []):
        if obj["id"] != PRODUCER:
            m.identity(obj)
    for obj in by_type.get("location", []):
        m.location(obj)
    risk_keys = {o["id"]: str(o.get("key", "")).upper() for o in by_type.get(RISK_TYPE, [])}
    stored_ids: dict[str, str] | None = None  # a risk stored here, by its stable id
    mitigates: dict[str, list[str]] = {}
    for rel in by_type.get("relationship", []):
        target = risk_keys.get(str(rel.get("target_ref")))
        if target is None:
            if stored_ids is None:
                stored_ids = {stix_id(RISK_TYPE, k): k for k in session.scalars(select(Risk.key))}
            target = stored_ids.get(str(rel.get("target_ref")))
        source = str(rel.get("source_ref", ""))
        if rel.get("relationship_type") == "mitigates" and target and \
                source.startswith("course-of-action--"):
            mitigates.setdefault(source, []).append(target)
        elif rel.get("relationship_type") == "derived-from" and ours(rel) is None and \
                str(rel.get("source_ref", "")).split("--")[0] in RECORD_TYPES:
            m.tally.notes["relationship derived-from (kept by the record's key)"] += 1
        else:
            m.tally.notes[f"relationship {rel.get('relationship_type')} (not a catalog link)"] += 1
    for kind, found in by_type.items():
        if kind in {"marking-definition", "identity", "location", "relationship", *ACTOR_TYPES,
                    *RECORD_TYPES}:
            for obj in found:  # the properties of the types we map: what is left behind
                m.count_unknown(obj)
            continue
        if kind == "extension-definition":
            others = [o for o in found if o["id"] != EXTENSION]
            if others:
                m.tally.types["extension-definition (not ours)"] += len(others)
        elif kind == "note" and all(ours(o) for o in found):
            m.tally.notes["note: alerts are recomputed from events on each node"] += len(found)
        else:
            m.tally.types[kind] += len(found)
    plan = Plan(Batch(), m.tally)
    items: list[Item] = []
    standalone: list[tuple[Obj, Obj]] = []
    for obj in [*by_type.get("threat-actor", []), *by_type.get("intrusion-set", [])]:
        items.append(Item("actors", m.actor(obj), obj["id"], len(items)))
    records: list[tuple[str, Obj, Obj]] = []
    for kind, section in RECORD_TYPES.items():
        for obj in by_type.get(kind, []):
            creator = m.creator(obj)
            owner = creator if creator and writer.may_change(creator) else home
            if section == "risks":
                data = m.risk(obj)
            else:
                data = m.measure(obj, owner, sorted(set(mitigates.get(obj["id"], []))),
                                 str(path))
            if not data.get("key"):
                problems.append(f"{path}: {obj['id']}: key: required field is missing")
                continue
            data["key"] = str(data["key"]).upper()
            records.append((section, obj, data))
    wanted = {s: [d["key"] for sec, _, d in records if sec == s] for s in ("risks", "measures")}
    stored = {s: checks.stored_records(session, matrix, s, keys) for s, keys in wanted.items()}
    lookups = _lookups(session)
    lookups["actors"] |= {str(i.data.get("key", "")).upper() for i in items}  # the bundle's
    for section, obj, data in records:
        creator = m.creator(obj)
        owner = creator if creator and writer.may_change(creator) else home
        old = stored[section].get(data["key"])
        version = data.pop("version", None)
        if old is not None:
            verdict = _verdict(obj, data, old, creator, version)
            if verdict == "same":
                plan.unchanged += 1
                continue
            if verdict == "replace":
                data["version"] = old["version"]
            else:
                new = derived_key(data["key"], obj["id"], str(obj.get("modified")))
                plan.derived.append(f"{obj['id']} as {new}, beside {data['key']} ({verdict})")
                data["key"], old = new, None
                _note_origin(data, f"Derived from STIX {obj['id']} (modified "
                             f"{obj.get('modified')}); the record it derives from is "
                             f"{data['key'].rsplit('-D', 1)[0]}.")
        _fit(data, owner, old is None, lookups, m.tally)
        if ours(obj) is not None or obj["type"] == RISK_TYPE:
            plan.origin[(section, data["key"])] = (
                int(version) if isinstance(version, int) else 1, str(obj["created"]),
                str(obj["modified"]))
        if section == "measures" and not data.get("risks"):
            standalone.append((obj, data))
        else:
            items.append(Item(section, data, obj["id"], len(items)))
    try:
        plan.batch = validate_items(session, matrix, items, principal)
    except ImportError_ as exc:
        problems += [f"{path}: {p.file}: {p.field}: {p.reason}" for p in exc.problems]
    problems += _standalone(session, matrix, plan.batch, standalone, writer, lookups, path)
    if problems:
        raise StixError(problems)
    return plan


def _verdict(obj: Obj, data: Obj, old: Obj, creator: str | None, version: Any) -> str:
    """same | replace | why the object is kept apart."""
    if isinstance(version, int):  # one of our records: its creator is its owner
        if creator != old["owner"]:
            return (f"created by {creator or 'another organisation'}, not its owner "
                    f"{old['owner']}")
        if version == old["version"]:
            return "same"
        return "replace" if version > old["version"] else f"older version {version}"
    # A record from another tool: its origin line names its STIX creator and version.
    seen = str((old.get("rationale") or {}).get("en", ""))
    if f"by {obj.get('created_by_ref') or 'an unnamed creator'})" not in seen:
        return "created by another creator than the stored record's"
    modified = str(obj.get("modified"))
    if f"modified {modified}," in seen:
        return "same"
    start = seen.find("modified ")
    before = seen[start + 9:].split(",", 1)[0] if start >= 0 else ""
    return "replace" if modified > before else "older version"


def _note_origin(data: Obj, line: str) -> None:
    text = data.get("rationale")
    text = dict(text) if isinstance(text, dict) and text else {"en": "", "ru": ""}
    data["rationale"] = {lang: f"{value}\n\n{line}".strip() for lang, value in text.items()}


def _lookups(session: Session) -> dict[str, set[str]]:
    return {"orgs": set(session.scalars(select(Organisation.key))),
            "groups": set(session.scalars(select(SharingGroup.key))),
            "users": set(session.scalars(select(User.username))),
            "states": set(session.scalars(select(State.code))),
            "actors": set(session.scalars(select(Actor.key)))}


def _fit(data: Obj, owner: str, new: bool, known: dict[str, set[str]], tally: Tally) -> None:
    """Names this node does not know are dropped (and counted) rather than refused: another
    node's organisations, groups and users are not ours."""
    if new or data.get("owner") not in known["orgs"]:
        data["owner"] = owner
    if "lead" in data and data["lead"] not in known["orgs"]:
        data["lead"] = data["owner"]
    sharing = data.get("sharing") or {}
    for name, pool in (("groups", "groups"), ("orgs", "orgs"), ("users", "users")):
        kept = [v for v in sharing.get(name, []) if v in known[pool]]
        if len(kept) != len(sharing.get(name, [])):
            tally.unmatched[f"sharing {name} unknown here (grant dropped)"] += 1
        sharing[name] = kept
    data["sharing"] = sharing
    for name, pool in (("states", "states"), ("actors", "actors")):
        if name in data and isinstance(data[name], list):
            kept = [v for v in data[name] if v in known[pool]]
            if len(kept) != len(data[name]):
                tally.unmatched[f"{name} unknown here (dropped)"] += 1
            data[name] = kept


def _standalone(session: Session, matrix: Matrix, batch: Batch, found: list[tuple[Obj, Obj]],
                writer: checks.Writer, known: dict[str, set[str]], path: Path) -> list[str]:
    """Measures that treat no risk: validated here (the catalog's own schema asks for one)."""
    problems: list[str] = []
    keys = [data["key"] for _, data in found]
    batch.stored["measures"].update(checks.stored_records(session, matrix, "measures", keys))
    for obj, data in found:
        try:
            model = Standalone.model_validate(data, context={"matrix": matrix})
        except ValidationError as exc:
            problems += [f"{path}: {obj['id']}: {'.'.join(map(str, e['loc']))}: "
                         f"{e['msg'].removeprefix('Value error, ')}"
                         for e in exc.errors(include_url=False)]
            continue
        if not writer.may_change(model.owner):
            problems.append(f"{path}: {obj['id']}: owner: you may not write records of "
                            f"{model.owner}")
            continue
        batch.measures.append(model)
    return problems


def write_import(session: Session, matrix: Matrix, plan: Plan, who: Who) -> Report:
    """Phase two: write the plan (one transaction, the caller's), keeping the origin's
    created and modified times and version numbers for our own types (a lossless copy)."""
    counts = save(session, matrix, plan.batch, who)
    for (section, key), (version, created, modified) in plan.origin.items():
        model: Any = Risk if section == "risks" else Measure
        stored = plan.batch.stored[section].get(key)
        now = session.execute(select(model.id, model.version).where(model.key == key)).first()
        if now is None or (stored is not None and now.version == stored["version"]):
            continue  # not written (unchanged)
        values: dict[str, Any] = {"updated_at": parse_timestamp(modified)}
        if stored is None:  # created here: the origin's first time and version number
            values |= {"created_at": parse_timestamp(created), "version": version}
            session.execute(update(Version).where(
                Version.entity == section[:-1], Version.key == key,
                Version.version == now.version).values(version=version))
        session.execute(update(model).where(model.id == now.id).values(values))
    return Report(counts, plan)
