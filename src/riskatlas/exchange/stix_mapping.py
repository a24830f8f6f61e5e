"""STIX objects read as catalog records (import, phase one): which objects we understand, what
each becomes, and what is skipped and counted.

Nothing here touches the database: `Mapper` is given what it needs to know of it (the
organisations, states and actors by key) and returns export-shape records for the catalog's
own validation.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from riskatlas.catalog import shapes
from riskatlas.exchange.stix_common import (
    EXTENSION,
    RISK_TYPE,
    TLP2_EXTENSION,
    ours,
    stix_id,
    tlp_of_definition,
)

Obj = dict[str, Any]
ID = re.compile(r"^([a-z0-9][a-z0-9-]{1,248}[a-z0-9])--([0-9a-fA-F-]{36})$")
COMMON = {"type", "spec_version", "id", "created", "modified", "created_by_ref", "revoked",
          "labels", "confidence", "lang", "external_references", "object_marking_refs",
          "granular_markings", "extensions"}
# The properties STIX 2.1 defines on the types we map: anything else is a custom property,
# skipped and counted.
STANDARD = {
    "course-of-action": {"name", "description", "action"},
    "identity": {"name", "description", "roles", "identity_class", "sectors",
                 "contact_information"},
    "location": {"name", "description", "latitude", "longitude", "precision", "region",
                 "country", "administrative_area", "city", "street_address", "postal_code"},
    "threat-actor": {"name", "description", "threat_actor_types", "aliases", "first_seen",
                     "last_seen", "roles", "goals", "sophistication", "resource_level",
                     "primary_motivation", "secondary_motivations", "personal_motivations"},
    "intrusion-set": {"name", "description", "aliases", "first_seen", "last_seen", "goals",
                      "resource_level", "primary_motivation", "secondary_motivations"},
    "relationship": {"relationship_type", "source_ref", "target_ref", "description",
                     "start_time", "stop_time"},
    RISK_TYPE: {"name", "description", *(f.name for f in shapes.RISK.fields)},
    "marking-definition": {"name", "definition_type", "definition",
                           "x_opencti_definition_type", "x_opencti_definition",
                           "x_opencti_order", "x_opencti_color"},
    "extension-definition": {"name", "description", "schema", "version", "extension_types",
                             "extension_properties"},
    "note": {"abstract", "content", "authors", "object_refs"},
}
KINDS = {"nation-state": "state", "crime-syndicate": "criminal_network",
         "terrorist": "non_state_armed_group", "activist": "non_state_armed_group"}
DEFAULT_TLP = "amber"  # an unmarked foreign object: members' eyes only until someone decides


@dataclass
class Tally:
    """What an import skipped or could not match, counted for the report."""

    types: Counter[str] = field(default_factory=Counter)
    properties: Counter[str] = field(default_factory=Counter)
    unmatched: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)


def foreign_key(stix: str) -> str:
    """The catalog key of a record that came from another tool: from its STIX id, so that
    importing the same object again finds the same record."""
    return "STIX-" + uuid.UUID(stix.split("--", 1)[1]).hex[:12].upper()


def derived_key(key: str, stix: str, modified: str) -> str:
    """The key of a separate record kept beside `key` (another creator's, or an older version)."""
    tag = uuid.uuid5(uuid.NAMESPACE_URL, f"{stix}@{modified}").hex[:6].upper()
    return f"{key[:25]}-D{tag}"


def both(text: str) -> dict[str, str]:
    # The catalog needs English and Russian; a foreign object gives one language (STIX `lang`,
    # English by default), shown in both until someone translates it.
    return {"en": text, "ru": text}


class Mapper:
    """Turns a bundle's objects into catalog records, counting what it skips."""

    def __init__(self, orgs: dict[str, dict[str, Any]], states: dict[str, str],
                 alpha2: dict[str, str]) -> None:
        self.orgs = orgs  # key -> {"names": set of lower-case names, "state": code | None}
        self.by_id = {stix_id("identity", key): key for key in orgs}
        self.states = states  # code -> role
        self.alpha2 = alpha2  # ISO alpha-2 -> our state code
        self.tally = Tally()
        self.markings: dict[str, str] = {}
        self.identities: dict[str, str | None] = {}

    def count_unknown(self, obj: Obj) -> None:
        kind = obj["type"]
        known = COMMON | STANDARD.get(kind, set())
        for name in obj:
            if name not in known:
                self.tally.properties[f"{kind}.{name}"] += 1
        for ext in (obj.get("extensions") or {}):
            if ext not in (EXTENSION, TLP2_EXTENSION):
                self.tally.properties[f"{kind}.extensions[{ext}]"] += 1

    def marking(self, obj: Obj) -> None:
        level = tlp_of_definition(obj)
        if level is None:
            self.tally.notes["marking-definition that is not TLP (ignored)"] += 1
        else:
            self.markings[obj["id"]] = level

    def tlp(self, obj: Obj) -> str:
        """The strictest TLP among an object's markings (known ids or the bundle's own)."""
        from riskatlas.exchange.stix_common import KNOWN_MARKINGS
        from riskatlas.sharing.policy import TLP_LEVELS

        found = [self.markings.get(ref) or KNOWN_MARKINGS.get(ref)
                 for ref in obj.get("object_marking_refs") or []]
        levels = [level for level in found if level]
        return max(levels, key=TLP_LEVELS.index) if levels else DEFAULT_TLP

    def identity(self, obj: Obj) -> None:
        key = (ours(obj) or {}).get("key")
        if not (isinstance(key, str) and key in self.orgs):
            name = str(obj.get("name", "")).strip().lower()
            key = next((k for k, o in self.orgs.items() if name in o["names"]), None)
        if key is None:
            self.tally.unmatched["identity (no organisation of that name here)"] += 1
        self.identities[obj["id"]] = key

    def creator(self, obj: Obj) -> str | None:
        ref = obj.get("created_by_ref")
        if not isinstance(ref, str):
            return None
        return self.identities.get(ref) or self.by_id.get(ref)

    def location(self, obj: Obj) -> str | None:
        code = (ours(obj) or {}).get("code")
        if not (isinstance(code, str) and code in self.states):
            code = self.alpha2.get(str(obj.get("country", "")).upper())
        if code is None:
            self.tally.unmatched["location (not a state of the grouping)"] += 1
        return code

    def risk(self, obj: Obj) -> Obj:
        data = {f.name: obj[f.name] for f in shapes.RISK.fields if f.name in obj}
        data.setdefault("title", both(str(obj.get("name", ""))))
        data.setdefault("summary", both(str(obj.get("description", ""))))
        if obj.get("revoked"):
            data["status"] = "retired"
        return data

    def measure(self, obj: Obj, owner: str, risks: list[str], file: str) -> Obj:
        block = ours(obj)
        if block is not None:
            data = {k: v for k, v in block.items() if k != "extension_type"}
            data.setdefault("risks", risks)
        else:
            data = self.foreign_measure(obj, owner, risks, file)
        if obj.get("revoked"):
            data["status"] = "retired"
        return data

    def foreign_measure(self, obj: Obj, owner: str, risks: list[str], file: str) -> Obj:
        """A course-of-action from another tool: a proposed measure, keeping its external
        references (as sources, those with a web address) and its origin (in the rationale)."""
        name = str(obj.get("name") or obj["id"])
        created = str(obj.get("created", ""))[:10]
        sources, others = [], []
        for ref in obj.get("external_references") or []:
            if not isinstance(ref, dict):
                continue
            url = ref.get("url")
            label = str(ref.get("description") or ref.get("source_name") or url or "")
            if isinstance(url, str) and re.match(r"^https?://\S+$", url):
                sources.append({"title": label[:500] or url, "url": url,
                                "published": created[:4] or "1970",
                                "publisher": ref.get("source_name")})
            else:  # an id in a knowledge base (e.g. ATT&CK's "M1031"): kept in the origin
                others.append(f"{ref.get('source_name')} {ref.get('external_id') or ''}".strip())
        creator = obj.get("created_by_ref") or "an unnamed creator"
        origin = (f"Imported from STIX {obj['id']} (created {obj.get('created')}, modified "
                  f"{obj.get('modified')}, by {creator}) in {file}.")
        if others:
            origin += " References: " + "; ".join(others) + "."
        state = self.orgs.get(owner, {}).get("state")
        states = [state] if state else sorted(c for c, r in self.states.items() if r == "member")
        return {"key": foreign_key(obj["id"]), "title": both(name[:500]),
                "summary": both(str(obj.get("description") or name)),
                "kind": "mitigation", "treatment": "reduce", "lead": owner, "owner": owner,
                "states": states, "status": "proposed",
                "effect": {"likelihood": 0, "impact": 0}, "risks": risks,
                "sources": sources[:50], "rationale": both(origin), "tlp": self.tlp(obj)}

    def actor(self, obj: Obj) -> Obj:
        block = ours(obj)
        if block is not None:
            return {k: v for k, v in block.items() if k != "extension_type"}
        types = obj.get("threat_actor_types") or []
        kind = next((KINDS[t] for t in types if t in KINDS), "other")
        return {"key": foreign_key(obj["id"]), "name": both(str(obj.get("name") or obj["id"])),
                "kind": kind}
