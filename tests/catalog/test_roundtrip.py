"""Export, import into an empty database, export again: nothing may change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import SMALL, cli, export, load


def _fresh(tmp_path: Path, sqlite_template: Path, name: str) -> str:
    import shutil

    from riskatlas.config import Settings
    from riskatlas.parties.service import seed
    from riskatlas.runtime import Runtime

    path = tmp_path / name
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    with Runtime(Settings(database_url=url)).transaction() as session:
        seed(session)
    return url


def _strip_versions(doc: dict) -> dict:  # type: ignore[type-arg]
    for section in ("risks", "measures"):
        for record in doc[section]:
            record.pop("version")
    return doc


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_round_trip_is_lossless(
    db_url: str, tmp_path: Path, sqlite_template: Path, fmt: str
) -> None:
    load(db_url, SMALL)
    first = export(db_url)
    out = tmp_path / f"export.{fmt}"
    args = ["export", "--format", fmt, "--output", str(out), "--db", db_url]
    assert cli(*args).exit_code == 0
    files = [out / f"{n}.csv" for n in ("actors", "risks", "measures")] if fmt == "csv" else [out]
    target = _fresh(tmp_path, sqlite_template, "target.db")
    load(target, *files)
    assert export(target) == first
    # Importing the same export again changes nothing and creates no new versions.
    result = cli("import", *map(str, files), "--db", target)
    assert "0 created, 0 updated" in result.stderr
    assert export(target) == first


def test_export_json_contract(db_url: str) -> None:
    load(db_url, SMALL)
    result = cli("export", "--format", "json", "--db", db_url)
    doc = json.loads(result.stdout)
    risk = doc["risks"][0]
    for field in ("key", "title", "summary", "category", "domain", "states", "likelihood",
                  "impact", "level", "residual_level", "trend", "sources", "tlp", "status",
                  "measures"):
        assert field in risk, field
    assert set(risk["sources"][0]) >= {"title", "url", "published"}
    measure = doc["measures"][0]
    for field in ("key", "title", "kind", "treatment", "lead", "states", "status", "effect",
                  "risks"):
        assert field in measure, field
    assert set(measure["effect"]) == {"likelihood", "impact"}
    # CA-MSR-900 is implemented with effect (2, 1): High/Very High falls to Low/High.
    assert risk["level"] == "Very High"
    assert risk["residual_level"] == "Low"
    assert _strip_versions(doc)["risks"][1]["residual_level"] == "Moderate"


def test_updating_a_risk_keeps_the_links_its_measures_made(db_url: str, tmp_path: Path) -> None:
    import yaml

    load(db_url, SMALL)
    doc = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    risk = doc["risks"][0]
    risk["impact"] = "Low"
    risk["version"] = 1  # as exported
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump({"risks": [risk]}, allow_unicode=True), encoding="utf-8")
    load(db_url, path)
    after = {r["key"]: r for r in export(db_url)["risks"]}["CA-TST-001"]
    assert after["impact"] == "Low"
    assert after["measures"] == ["CA-MSR-900", "CA-MSR-901"]
    assert after["residual_level"] == "Very Low"  # CA-MSR-900 (implemented) still counts


def test_json_export_with_stored_texts_equals_the_decoded_document(db_url: str) -> None:
    """`riskatlas export --format json` writes the stored JSON of texts as they are
    (records.export_document raw_json): the document must be the same as when decoded."""
    import orjson

    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.catalog.records import export_document
    from riskatlas.cli_options import operator_scope
    from riskatlas.config import Settings
    from riskatlas.runtime import Runtime

    load(db_url, SMALL)
    rt = Runtime(Settings(database_url=db_url))
    with rt.transaction() as session:
        decoded = export_document(session, active_matrix(rt.settings), operator_scope())
        raw = export_document(session, active_matrix(rt.settings), operator_scope(), raw_json=True)
    assert decoded["risks"] and decoded["risks"][0]["assessments"]
    assert orjson.loads(orjson.dumps(raw)) == orjson.loads(orjson.dumps(decoded))
    assert orjson.loads(orjson.dumps(raw)) == export(db_url)
