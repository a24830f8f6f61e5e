"""What STIX export and import share: stable ids, timestamps, the TLP markings and our extension.

Ids are uuid5 of a record's kind and key in one fixed namespace, so the same record has the same
STIX id in every export, on every node (STIX versioning is then `(id, modified)`).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import stix2

# Fixed for ever: changing it would give every record a new identity in every peer's store.
NAMESPACE = uuid.UUID("6f1c1a62-8d0e-5b8e-9c55-2a1f0e7c4d31")
SPEC = "2.1"

RISK_TYPE = "x-riskatlas-risk"
EXTENSION_CREATED = "2026-01-01T00:00:00.000Z"  # the extension's first (and current) version


def stix_id(kind: str, key: str) -> str:
    """The STIX id of a record: `kind` is its STIX type, `key` its stable key.

    The name-based uuid5, with the version bits of a uuid4: STIX asks objects other than
    cyber observables for version 4 ids, and a hash is as unguessable as random bits."""
    # uuid.uuid5 then uuid.UUID(version=4), written out: a full export makes 100,000 ids and
    # the uuid module's objects cost a third of it.
    made = bytearray(hashlib.sha1(_NS + f"{kind}:{key}".encode()).digest()[:16])
    made[6] = (made[6] & 0x0F) | 0x40
    made[8] = (made[8] & 0x3F) | 0x80
    h = made.hex()
    return f"{kind}--{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_NS = NAMESPACE.bytes


PRODUCER = stix_id("identity", "riskatlas")  # the software that declares the extension
EXTENSION = stix_id("extension-definition", "riskatlas-catalog-1")


def timestamp(value: datetime) -> str:
    """A STIX timestamp with milliseconds (STIX versions compare `modified` at that precision)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"  # (strftime: 3 times slower)


def parse_timestamp(text: str) -> datetime:
    """A STIX timestamp as a naive UTC datetime (how the database keeps them), to the ms."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


# The official TLP 2.0 marking definitions (FIRST TLP 2.0, STIX extension definition below).
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"
TLP2_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# Marking ids accepted on import, each mapped to TLP 2.0: the STIX 2.1 spec's TLP 1.0 ones
# (WHITE is CLEAR) and OpenCTI's own AMBER+STRICT, which it creates beside the TLP 1.0 set.
KNOWN_MARKINGS = {
    **{v: k for k, v in TLP2_IDS.items()},
    stix2.v21.TLP_WHITE.id: "clear", stix2.v21.TLP_GREEN.id: "green",
    stix2.v21.TLP_AMBER.id: "amber", stix2.v21.TLP_RED.id: "red",
    "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37": "amber+strict",
}
_TLP_NAMES = {"white": "clear", "clear": "clear", "green": "green", "amber": "amber",
              "amber+strict": "amber+strict", "amber-strict": "amber+strict", "red": "red"}


def tlp_marking(level: str) -> dict[str, Any]:
    return {"type": "marking-definition", "spec_version": SPEC, "id": TLP2_IDS[level],
            "created": TLP2_CREATED, "name": f"TLP:{level.upper()}",
            "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension",
                                            "tlp_2_0": level}}}


def tlp_of_definition(obj: dict[str, Any]) -> str | None:
    """The TLP 2.0 level a marking-definition stands for, or None (not a TLP marking).

    Known ids first; then the forms tools write: TLP 2.0's extension (`tlp_2_0`), TLP 1.0's
    `definition: {tlp: ...}`, and OpenCTI's `x_opencti_definition` / name "TLP:AMBER+STRICT"."""
    known = KNOWN_MARKINGS.get(str(obj.get("id")))
    if known is not None:
        return known
    ext = (obj.get("extensions") or {}).get(TLP2_EXTENSION)
    candidates: list[Any] = []
    if isinstance(ext, dict):
        candidates.append(ext.get("tlp_2_0"))
    definition = obj.get("definition")
    kind = str(obj.get("definition_type") or obj.get("x_opencti_definition_type") or "")
    if isinstance(definition, dict):
        candidates.append(definition.get("tlp"))
    if kind.lower() == "tlp" or ext is not None:
        candidates += [obj.get("x_opencti_definition"), obj.get("name")]
    for value in candidates:
        if isinstance(value, str):
            name = value.strip().lower().removeprefix("tlp:").strip()
            if name in _TLP_NAMES:
                return _TLP_NAMES[name]
    return None


def producer() -> dict[str, Any]:
    return {"type": "identity", "spec_version": SPEC, "id": PRODUCER,
            "created": EXTENSION_CREATED, "modified": EXTENSION_CREATED,
            "name": "Risk Atlas", "identity_class": "system"}


def extension_definition() -> dict[str, Any]:
    """Our one extension: the risk object type (new-sdo) and the catalog fields carried by
    standard objects (property-extension on course-of-action, identity, location, actors,
    relationships and notes). Built with the stix2 library, which checks its required fields."""
    made = stix2.v21.ExtensionDefinition(
        id=EXTENSION, created_by_ref=PRODUCER, created=EXTENSION_CREATED,
        modified=EXTENSION_CREATED, name="Risk Atlas catalog",
        description="Risk Atlas catalog records: risks as the x-riskatlas-risk object (every "
        "catalog field), and the catalog fields of measures, organisations, states, actors, "
        "risk-measure links and alerts on the standard objects.",
        schema="https://github.com/riskatlas/riskatlas/blob/main/docs/exchange.md",
        version="1.0", extension_types=["new-sdo", "property-extension"])
    out: dict[str, Any] = dict(made)
    for name in ("created", "modified"):
        out[name] = EXTENSION_CREATED
    return out


def ours(obj: dict[str, Any]) -> dict[str, Any] | None:
    """Our extension's block on an object (the catalog fields), or None."""
    block = (obj.get("extensions") or {}).get(EXTENSION)
    return block if isinstance(block, dict) else None
