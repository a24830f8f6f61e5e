"""STIX 2.1 export and import (exchange.stix_export, stix_import), through the command line."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import stix2validator

from riskatlas.config import Settings
from riskatlas.exchange.stix_common import (
    EXTENSION,
    RISK_TYPE,
    TLP2_CREATED,
    TLP2_EXTENSION,
    TLP2_IDS,
    stix_id,
)
from riskatlas.parties import accounts
from riskatlas.parties.service import seed
from riskatlas.runtime import Runtime
from tests.helpers import cli, export

OPTIONS = stix2validator.ValidationOptions(version="2.1")
RISK = "CA-AFG-001"  # a risk of the default catalog


def _init(db_url: str) -> None:
    result = cli("init", "--db", db_url)
    assert result.exit_code == 0, result.output


def _bundle(db_url: str, *args: str) -> dict[str, Any]:
    result = cli("stix", "export", "--db", db_url, *args)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _by_type(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for o in bundle["objects"] if o["type"] == kind]


def _record(bundle: dict[str, Any], key: str) -> dict[str, Any]:
    return next(o for o in _by_type(bundle, RISK_TYPE) if o["key"] == key)


def _fresh_sqlite(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "fresh.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    with Runtime(Settings(database_url=url)).transaction() as session:
        seed(session)
    return url


def test_every_object_of_the_default_catalog_passes_the_validator(db_url: str) -> None:
    _init(db_url)
    bundle = _bundle(db_url)
    kinds = {o["type"] for o in bundle["objects"]}
    assert {RISK_TYPE, "course-of-action", "relationship", "identity", "location",
            "threat-actor", "marking-definition", "extension-definition"} <= kinds
    errors = []
    for obj in bundle["objects"]:
        result = stix2validator.validate_instance(obj, OPTIONS)
        errors += [f"{obj['id']}: {e}" for e in result.errors]
    assert errors == []
    whole = stix2validator.validate_string(json.dumps(bundle), OPTIONS)
    assert whole.is_valid, [str(e) for o in whole.object_results for e in o.errors]
    # Every record names its owner and carries its marking as the official TLP 2.0 object.
    doc = export(db_url)
    assert len(_by_type(bundle, RISK_TYPE)) == len(doc["risks"])
    assert len(_by_type(bundle, "course-of-action")) == len(doc["measures"])
    for obj in _by_type(bundle, RISK_TYPE):
        assert obj["object_marking_refs"] == [TLP2_IDS[obj["tlp"]]]
        assert obj["created_by_ref"] == stix_id("identity", obj["owner"])
    (clear,) = _by_type(bundle, "marking-definition")
    assert clear == {"type": "marking-definition", "spec_version": "2.1",
                     "id": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
                     "created": TLP2_CREATED, "name": "TLP:CLEAR", "extensions": {
                         TLP2_EXTENSION: {"extension_type": "property-extension",
                                          "tlp_2_0": "clear"}}}


def test_ids_are_stable_and_versions_follow_the_stix_rules(db_url: str) -> None:
    _init(db_url)
    first = _bundle(db_url)
    again = _bundle(db_url)
    assert [o["id"] for o in first["objects"]] == [o["id"] for o in again["objects"]]
    before = _record(first, RISK)
    assert before["id"] == stix_id(RISK_TYPE, RISK)
    assert before["created"] == before["modified"]  # a first version
    assert before["created"].endswith("Z") and len(before["created"]) == 24  # milliseconds
    result = cli("risks", "edit", RISK, "--set", "status=retired", "--set", "tlp=amber",
                 "--db", db_url)
    assert result.exit_code == 0, result.output
    after = _record(_bundle(db_url), RISK)
    assert after["id"] == before["id"] and after["created"] == before["created"]
    assert after["modified"] > before["modified"]
    assert after["revoked"] is True and after["version"] == 2
    assert after["object_marking_refs"] == [TLP2_IDS["amber"]]
    assert "revoked" not in before


def test_a_partner_receives_no_amber_record(db_url: str) -> None:
    _init(db_url)
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        accounts.add_user(session, "sau", "SAU-GOV", "viewer", "correct-horse-battery")
    for key, tlp in ((RISK, "amber"), ("CA-AFG-002", "green")):
        result = cli("risks", "edit", key, "--set", f"tlp={tlp}", "--db", db_url)
        assert result.exit_code == 0, result.output
    everything = _bundle(db_url)
    partner = _bundle(db_url, "--as", "sau")
    assert RISK in {o["key"] for o in _by_type(everything, RISK_TYPE)}
    keys = {o["key"] for o in _by_type(partner, RISK_TYPE)}
    assert RISK not in keys and "CA-AFG-002" in keys
    assert TLP2_IDS["amber"] not in json.dumps(partner)
    hidden = stix_id(RISK_TYPE, RISK)
    assert hidden not in json.dumps(partner)  # nor a link or a note naming it


def test_round_trip_into_a_fresh_database(db_url: str, sqlite_template: Path,
                                          tmp_path: Path) -> None:
    _init(db_url)
    cli("risks", "edit", RISK, "--set", "tlp=green", "--db", db_url)
    path = tmp_path / "bundle.json"
    assert cli("stix", "export", "--db", db_url, "--output", str(path)).exit_code == 0
    fresh = _fresh_sqlite(sqlite_template, tmp_path)
    result = cli("stix", "import", str(path), "--db", fresh)
    assert result.exit_code == 0, result.output
    original = json.loads(path.read_text())["objects"]
    copied = _bundle(fresh)["objects"]
    assert sorted(copied, key=lambda o: o["id"]) == sorted(original, key=lambda o: o["id"])
    again = cli("stix", "import", str(path), "--db", fresh)  # nothing new: nothing changes
    assert again.exit_code == 0 and "0 created, 0 updated" in again.output
    assert _bundle(fresh)["objects"] == copied


OPENCTI_STRICT = "marking-definition--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _foreign() -> dict[str, Any]:
    who = "identity--11111111-2222-4333-8444-555555555555"
    return {"type": "bundle", "id": "bundle--9a0b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d", "objects": [
        {"type": "identity", "spec_version": "2.1", "id": who, "name": "Some CERT",
         "identity_class": "organization", "created": "2024-01-01T00:00:00.000Z",
         "modified": "2024-01-01T00:00:00.000Z"},
        {"type": "marking-definition", "spec_version": "2.1", "id": OPENCTI_STRICT,
         "created": "2023-01-01T00:00:00.000Z", "definition_type": "TLP",
         "name": "TLP:AMBER+STRICT", "definition": {"TLP": "TLP:AMBER+STRICT"},
         "x_opencti_order": 3},
        {"type": "course-of-action", "spec_version": "2.1",
         "id": "course-of-action--aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
         "created": "2024-02-03T04:05:06.000Z", "modified": "2024-02-03T04:05:06.000Z",
         "created_by_ref": who, "name": "Border data sharing",
         "description": "Share crossing data between border services.",
         "x_mitre_version": "1.0",
         "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],
         "external_references": [
             {"source_name": "mitre-attack", "external_id": "M1037"},
             {"source_name": "Example", "url": "https://example.org/coa",
              "description": "The guidance"}]},
        {"type": "course-of-action", "spec_version": "2.1",
         "id": "course-of-action--12121212-3434-4565-8787-909090909090",
         "created": "2024-02-03T04:05:06.000Z", "modified": "2024-02-03T04:05:06.000Z",
         "name": "Training for customs", "object_marking_refs": [OPENCTI_STRICT]},
        {"type": "relationship", "spec_version": "2.1",
         "id": "relationship--abababab-cdcd-4efe-8a0a-1b1b1b1b1b1b",
         "created": "2024-02-03T04:05:06.000Z", "modified": "2024-02-03T04:05:06.000Z",
         "relationship_type": "mitigates",
         "source_ref": "course-of-action--12121212-3434-4565-8787-909090909090",
         "target_ref": stix_id(RISK_TYPE, RISK)},
        {"type": "intrusion-set", "spec_version": "2.1",
         "id": "intrusion-set--cdcdcdcd-1111-4222-8333-444444444444", "name": "Group X",
         "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"},
        {"type": "x-foo-thing", "spec_version": "2.1",
         "id": "x-foo-thing--dededede-1111-4222-8333-444444444444"},
        {"type": "malware", "spec_version": "2.1",
         "id": "malware--efefefef-1111-4222-8333-444444444444", "name": "m",
         "is_family": False, "created": "2024-01-01T00:00:00.000Z",
         "modified": "2024-01-01T00:00:00.000Z"},
    ]}


def test_a_foreign_bundle_is_mapped_and_what_is_skipped_is_counted(
        db_url: str, tmp_path: Path) -> None:
    _init(db_url)
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps(_foreign()))
    result = cli("stix", "import", str(path), "--db", db_url)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "2 created" in out
    assert "Skipped object types: 2" in out and "malware: 1" in out and "x-foo-thing: 1" in out
    assert "course-of-action.x_mitre_version: 1" in out
    assert "identity (no organisation of that name here): 1" in out
    doc = export(db_url)
    measures = {m["key"]: m for m in doc["measures"]}
    alone = measures["STIX-AAAAAAAABBBB"]  # no linked risk, still a measure
    assert alone["risks"] == [] and alone["tlp"] == "amber"  # TLP 1.0 AMBER
    assert alone["sources"][0]["url"] == "https://example.org/coa"
    origin = alone["rationale"]["en"]
    assert "course-of-action--aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee" in origin
    assert "M1037" in origin and "identity--11111111" in origin
    linked = measures["STIX-121212123434"]
    assert linked["tlp"] == "amber+strict" and linked["risks"] == [RISK]  # OpenCTI's marking
    assert "STIX-CDCDCDCD1111" in {a["key"] for a in doc["actors"]}
    # Importing it again changes nothing.
    again = cli("stix", "import", str(path), "--db", db_url)
    assert again.exit_code == 0 and "0 created, 0 updated" in again.output
    assert export(db_url) == doc


def test_only_the_creators_newer_version_replaces_a_record(db_url: str,
                                                           tmp_path: Path) -> None:
    _init(db_url)
    bundle = _bundle(db_url)
    risk = _record(bundle, RISK)
    newer = copy.deepcopy(risk) | {"version": risk["version"] + 1,
                                   "modified": "2030-01-01T00:00:00.000Z"}
    newer["title"] = dict(risk["title"], en="Renamed by its owner")
    other = copy.deepcopy(newer) | {"created_by_ref": stix_id("identity", "KGZ-SC"),
                                    "modified": "2030-01-02T00:00:00.000Z"}
    other["title"] = dict(risk["title"], en="Renamed by another")
    other["id"] = risk["id"]
    for name, obj in (("newer", newer), ("other", other)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"type": "bundle", "id": bundle["id"], "objects": [obj]}))
        result = cli("stix", "import", str(path), "--db", db_url)
        assert result.exit_code == 0, result.output
    risks = {r["key"]: r for r in export(db_url)["risks"]}
    assert risks[RISK]["title"]["en"] == "Renamed by its owner"
    kept = [r for k, r in risks.items() if k.startswith(f"{RISK}-D")]
    assert len(kept) == 1 and kept[0]["title"]["en"] == "Renamed by another"
    assert f"derives from is {RISK}" in kept[0]["rationale"]["en"]
    links = [o for o in _by_type(_bundle(db_url), "relationship")
             if o["relationship_type"] == "derived-from"]
    assert [(o["source_ref"], o["target_ref"]) for o in links] == [
        (stix_id(RISK_TYPE, kept[0]["key"]), risk["id"])]


def test_a_bad_bundle_leaves_the_database_unchanged(db_url: str, tmp_path: Path) -> None:
    _init(db_url)
    before = export(db_url)
    bundle = _foreign()
    risk = _record(_bundle(db_url), RISK) | {"likelihood": "enormous", "version": 9}
    bundle["objects"].append(risk)
    bundle["objects"].append({"type": "course-of-action", "id": "not-an-id"})
    undated = "course-of-action--0f0f0f0f-1111-4222-8333-444444444444"
    bundle["objects"].append({"type": "course-of-action", "spec_version": "2.1",
                              "id": undated, "name": "no dates"})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bundle))
    result = cli("stix", "import", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert f"{path}: {risk['id']}: likelihood:" in result.stderr
    assert f"{path}: objects[9]: id: 'not-an-id'" in result.stderr
    assert f"{path}: {undated}: created: required field is missing" in result.stderr
    assert "nothing was written" in result.output
    assert export(db_url) == before
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = cli("stix", "import", str(broken), "--db", db_url)
    assert result.exit_code == 2 and f"{broken}: not JSON" in result.stderr
    assert export(db_url) == before


@pytest.mark.parametrize("level", ["white", "green", "amber", "red"])
def test_tlp_1_markings_map_to_tlp_2(level: str) -> None:
    import stix2

    from riskatlas.exchange.stix_common import tlp_of_definition

    marking = json.loads(getattr(stix2.v21, f"TLP_{level.upper()}").serialize())
    assert tlp_of_definition(marking) == {"white": "clear"}.get(level, level)
    assert tlp_of_definition(marking | {"id": OPENCTI_STRICT}) == {"white": "clear"}.get(
        level, level)  # the definition, not the id, when the id is not a known one
    assert EXTENSION not in json.dumps(marking)


def test_alerts_are_notes_on_the_risks_they_point_at(db_url: str) -> None:
    from datetime import date

    from sqlalchemy import select

    from riskatlas.parties.models import Organisation
    from riskatlas.warning.models import Alert

    _init(db_url)
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        accounts.add_user(session, "sau", "SAU-GOV", "viewer", "correct-horse-battery")
        owner = session.scalar(select(Organisation.id).where(Organisation.key == "KAZ-SC"))
        for n, tlp in enumerate(("green", "amber")):
            session.add(Alert(
                cell=f"ind-{n}|TJK||2024-01-06", tier=tlp, rank=n, indicator=f"ind-{n}",
                country="TJK", admin1=None, period="week", period_start=date(2024, 1, 6),
                period_end=date(2024, 1, 12), observed=9.0, expected=2.5, score=3.1,
                probability=0.001, severity=3, detector="poisson",
                risks=[RISK, "CA-NOT-HERE"], owner_org_id=owner, tlp=tlp))
    notes = _by_type(_bundle(db_url), "note")
    assert len(notes) == 2
    for note in notes:
        assert note["object_refs"] == [stix_id(RISK_TYPE, RISK)]
        assert note["created_by_ref"] == stix_id("identity", "KAZ-SC")
        assert note["extensions"][EXTENSION]["risks"] == [RISK]  # only risks one may see
        result = stix2validator.validate_instance(note, OPTIONS)
        assert result.errors == [], [str(e) for e in result.errors]
    seen = _by_type(_bundle(db_url, "--as", "sau"), "note")  # a partner: the GREEN one only
    assert [n["object_marking_refs"] for n in seen] == [[TLP2_IDS["green"]]]
