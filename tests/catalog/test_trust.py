"""The stories of the write-model issue, as they were tried: who may change what between states.

Each failed before links, assessments and imports became the owners' own (see catalog.checks,
catalog.links, catalog.assessments).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml

from tests.catalog.trust import PENDING, RISK, Node, audit_ok, make_node, measure
from tests.helpers import cli, export


@pytest.fixture
def node(db_url: str) -> Node:
    return make_node(db_url)


RATIONALE = {"en": "Our own reading", "ru": "Наша собственная оценка"}


def test_a_partners_measure_does_not_lower_the_secretariats_rating(node: Node) -> None:
    before = node.risk()
    response = node.client.post("/api/v1/measures",
                                json=measure("CA-MSR-SAU", [RISK], 4, lead="SAU-GOV"),
                                headers=node.headers("sau_editor"))
    assert response.status_code == 201, response.text
    assert {"risk": RISK, "status": "pending"} in response.json()["links"]
    after = node.risk()
    assert after["residual_level"] == before["residual_level"]
    assert {"measure": "CA-MSR-SAU", "status": "pending"} in after["links"]
    assert "CA-MSR-SAU" not in after["measures"]
    # Everybody, anonymous visitors in public mode too, sees the same rating.
    shown = node.client.get(f"/api/v1/risks/{RISK}", headers=node.headers("kgz_editor"))
    assert shown.json()["residual_level"] == before["residual_level"]
    audit_ok(node.db_url)


def test_the_owner_accepts_a_link_and_only_then_it_counts(node: Node) -> None:
    before = node.risk()
    path = f"/api/v1/risks/{RISK}/measures/{PENDING}/accept"
    refused = node.client.post(path, headers=node.headers(
        "kgz_editor", **{"If-Match": node.etag(f"/api/v1/risks/{RISK}")}))
    assert refused.status_code == 403
    accepted = node.client.post(path, headers=node.headers(
        "sec_editor", **{"If-Match": node.etag(f"/api/v1/risks/{RISK}")}))
    assert accepted.status_code == 200, accepted.text
    after = accepted.json()
    assert PENDING in after["measures"] and after["version"] == before["version"] + 1
    assert after["residual_level"] == "Very Low" != before["residual_level"]
    history = node.client.get(f"/api/v1/risks/{RISK}/history",
                              headers=node.headers("sec_editor")).json()
    assert PENDING in history[-1]["diff"]
    # Rejected: kept, marked, no longer counted; the measure no longer lists the risk.
    rejected = node.client.post(f"/api/v1/risks/{RISK}/measures/{PENDING}/reject",
                                headers=node.headers("sec_editor", **{"If-Match": '"2"'}))
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["rejected_measures"] == [PENDING]
    assert rejected.json()["residual_level"] == before["residual_level"]
    assert RISK not in {r["key"]: r for r in export(node.db_url)["measures"]}[PENDING]["risks"]
    removed = node.client.delete(f"/api/v1/risks/{RISK}/measures/{PENDING}",
                                 headers=node.headers("sec_editor", **{"If-Match": '"3"'}))
    assert removed.status_code == 200
    assert PENDING not in [link["measure"] for link in removed.json()["links"]]
    audit_ok(node.db_url)


def test_an_older_csv_export_is_refused_whole_and_unmarks_nothing(
    node: Node, tmp_path: Path
) -> None:
    for key, tlp in (("CA-TST-002", "amber"),):
        etag = node.etag(f"/api/v1/risks/{key}")
        assert node.client.patch(f"/api/v1/risks/{key}", json={"tlp": tlp},
                                 headers=node.headers("sec_editor", **{"If-Match": etag})
                                 ).status_code == 200
    folder = tmp_path / "old"
    assert cli("export", "--format", "csv", "--output", str(folder),
               "--db", node.db_url).exit_code == 0
    # A colleague edits a risk after the export.
    etag = node.etag(f"/api/v1/risks/{RISK}")
    assert node.client.patch(f"/api/v1/risks/{RISK}", json={"summary": {"en": "Newer"}},
                             headers=node.headers("sec_editor", **{"If-Match": etag})
                             ).status_code == 200
    before = export(node.db_url)
    result = cli("import", str(folder / "risks.csv"), "--db", node.db_url)
    assert result.exit_code == 2
    assert f"risks.csv:2: {RISK}: stored version 2, file has 1" in result.stderr
    assert export(node.db_url) == before
    # A file without the marking columns keeps the markings.
    rows = list(csv.DictReader(io.StringIO(
        (folder / "risks.csv").read_text(encoding="utf-8-sig"))))
    row = next(r for r in rows if r["key"] == "CA-TST-002")
    slim = tmp_path / "slim.csv"
    slim.write_text(f"key,domain,summary.en,version\nCA-TST-002,cyber,Changed,{row['version']}\n",
                    encoding="utf-8")
    assert cli("import", str(slim), "--db", node.db_url).exit_code == 0
    after = node.risk("CA-TST-002")
    assert (after["tlp"], after["summary"]["en"], after["summary"]["ru"]) == (
        "amber", "Changed", before_ru(before, "CA-TST-002"))
    # --force writes a stale file and says so in the audit trail.
    forced = cli("import", str(folder / "risks.csv"), "--force", "--db", node.db_url)
    assert forced.exit_code == 0, forced.output
    entries = cli("audit", "list", "--format", "json", "--db", node.db_url).stdout
    assert "forced" in entries
    audit_ok(node.db_url)


def before_ru(doc: dict, key: str) -> str:  # type: ignore[type-arg]
    return str({r["key"]: r for r in doc["risks"]}[key]["summary"]["ru"])


def test_the_risks_only_csv_that_export_prints_imports_cleanly(node: Node, tmp_path: Path) -> None:
    printed = cli("export", "--format", "csv", "--db", node.db_url)
    assert printed.exit_code == 0
    path = tmp_path / "risks.csv"
    path.write_text(printed.stdout, encoding="utf-8")
    validated = cli("validate", str(path), "--db", node.db_url)
    imported = cli("import", str(path), "--db", node.db_url)
    assert validated.exit_code == 0 and imported.exit_code == 0, imported.output
    assert "0 created, 0 updated, 2 unchanged" in imported.stderr


def test_a_member_records_its_own_assessment_and_nobody_elses(node: Node) -> None:
    path = f"/api/v1/risks/{RISK}/assessments"
    body = {"likelihood": "Low", "impact": "Moderate", "rationale": RATIONALE}
    created = node.client.put(f"{path}/KGZ", json=body, headers=node.headers("kgz_editor"))
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    analyst = node.client.put(f"{path}/KGZ", json={"impact": "High"},
                              headers=node.headers("kgz_analyst", **{"If-Match": '"1"'}))
    assert analyst.status_code == 200 and analyst.json()["version"] == 2
    assert analyst.json()["rationale"] == RATIONALE
    stale = node.client.put(f"{path}/KGZ", json=body,
                            headers=node.headers("kgz_editor", **{"If-Match": '"1"'}))
    assert stale.status_code == 412
    # The risk's owner cannot enter an assessment in a state's name, nor can another state.
    for who, state in (("sec_editor", "KGZ"), ("sec_editor", "KAZ"), ("kgz_editor", "TJK"),
                       ("sau_editor", "KGZ")):
        refused = node.client.put(f"{path}/{state}", json=body,
                                  headers=node.headers(who, **{"If-Match": '"1"'}))
        assert refused.status_code == 403, (who, state, refused.text)
    # Editing the risk never touches the assessments; setting them through an edit is refused.
    edit = cli("risks", "edit", RISK, "--set", "assessments=[]", "--db", node.db_url)
    assert edit.exit_code == 2 and "assessments" in edit.stderr
    etag = node.etag(f"/api/v1/risks/{RISK}")
    assert node.client.patch(f"/api/v1/risks/{RISK}", json={"likelihood": "Low"},
                             headers=node.headers("sec_editor", **{"If-Match": etag})
                             ).status_code == 200
    states = {a["state"]: a["version"] for a in node.risk()["assessments"]}
    assert states == {"KGZ": 2, "TJK": 1}
    history = node.client.get(f"{path}/KGZ/history", headers=node.headers("sec_viewer"))
    assert [v["version"] for v in history.json()] == [1, 2]
    removed = node.client.delete(f"{path}/KGZ",
                                 headers=node.headers("kgz_editor", **{"If-Match": '"2"'}))
    assert removed.status_code == 204
    assert {a["state"] for a in node.risk()["assessments"]} == {"TJK"}
    audit_ok(node.db_url)


def test_assessments_at_the_command_line(node: Node) -> None:
    base = ("assessments", "set", RISK, "KGZ", "--likelihood", "High", "--impact", "Low",
            "--rationale-en", "Ours", "--rationale-ru", "Наша", "--db", node.db_url)
    refused = cli(*base, "--as", "sec_editor")
    assert refused.exit_code == 2 and "only organisations of KGZ" in refused.stderr
    assert cli(*base, "--as", "kgz_editor").exit_code == 0
    shown = cli("assessments", "show", RISK, "KGZ", "-f", "json", "--db", node.db_url)
    assert yaml.safe_load(shown.stdout)["likelihood"] == "High"
    again = cli("assessments", "set", RISK, "KGZ", "--impact", "High", "--as", "kgz_editor",
                "--db", node.db_url)
    assert again.exit_code == 2 and "exists (version 1)" in again.stderr
    assert cli("assessments", "set", RISK, "KGZ", "--impact", "High", "--version", "1",
               "--as", "kgz_editor", "--db", node.db_url).exit_code == 0
    history = cli("assessments", "history", RISK, "KGZ", "-f", "json", "--db", node.db_url)
    assert [v["change"] for v in yaml.safe_load(history.stdout)] == ["create", "update"]
    assert cli("assessments", "remove", RISK, "KGZ", "--version", "2", "--as", "kgz_editor",
               "--db", node.db_url).exit_code == 0
    audit_ok(node.db_url)


def test_an_import_sets_the_assessments_it_carries_and_keeps_the_others(
    node: Node, tmp_path: Path
) -> None:
    risk = node.risk()
    risk["assessments"] = [{"state": "KGZ", "likelihood": "Low", "impact": "Low",
                            "rationale": RATIONALE}]
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump({"risks": [risk]}, allow_unicode=True), encoding="utf-8")
    as_owner = cli("import", str(path), "--as", "sec_editor", "--db", node.db_url)
    assert as_owner.exit_code == 2 and "assessments[0].state" in as_owner.stderr
    assert cli("import", str(path), "--as", "kgz_editor", "--db", node.db_url).exit_code == 0
    assert {a["state"] for a in node.risk()["assessments"]} == {"KGZ", "TJK"}
    assert node.risk()["version"] == risk["version"]  # the risk itself did not change


def _edit_sheet(out: Path, fmt: str, key: str, column: str, value: str) -> None:
    """Change one cell as an analyst would in Excel or LibreOffice, and save."""
    if fmt == "xlsx":
        import openpyxl

        book = openpyxl.load_workbook(out)
        sheet = book["risks"]
        header = [c.value for c in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            if row[header.index("key")].value == key:
                row[header.index(column)].value = value
        book.save(out)
        return
    path = out / "risks.csv"
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        if row["key"] == key:
            row[column] = value
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_spreadsheet_round_trip_keeps_versions_markings_and_links(
    node: Node, tmp_path: Path, fmt: str
) -> None:
    etag = node.etag(f"/api/v1/risks/{RISK}")
    assert node.client.patch(f"/api/v1/risks/{RISK}", json={"tlp": "amber+strict",
                                                            "sharing": {"orgs": ["KGZ-SC"]}},
                             headers=node.headers("sec_editor", **{"If-Match": etag})
                             ).status_code == 200
    before = node.risk()
    out = tmp_path / ("book.xlsx" if fmt == "xlsx" else "tables")
    assert cli("export", "--format", fmt, "--output", str(out),
               "--db", node.db_url).exit_code == 0
    _edit_sheet(out, fmt, RISK, "summary.en", "Edited in a spreadsheet")
    imported = cli("import", str(out), "--db", node.db_url)
    assert imported.exit_code == 0, imported.output
    assert "1 updated" in imported.stderr
    after = node.risk()
    assert after["summary"]["en"] == "Edited in a spreadsheet"
    assert after["version"] == before["version"] + 1
    for field in ("tlp", "sharing", "links", "measures", "assessments", "owner"):
        assert after[field] == before[field], field
    assert {"measure": PENDING, "status": "pending"} in after["links"]
    # The same file again is stale now: refused whole, nothing written.
    _edit_sheet(out, fmt, "CA-TST-002", "summary.en", "Another edit")
    snapshot = export(node.db_url)
    stale = cli("import", str(out), "--db", node.db_url)
    assert stale.exit_code == 2
    assert f"stored version {after['version']}, file has {before['version']}" in stale.stderr
    assert export(node.db_url) == snapshot
    audit_ok(node.db_url)
