"""Every change to a risk or measure keeps the previous version."""

from __future__ import annotations

import json

from tests.helpers import SMALL, cli, load


def test_history_keeps_every_version_with_diffs(db_url: str) -> None:
    load(db_url, SMALL)
    edits = [("likelihood=Low",), ("title.ru=Новое название",), ("status=retired",)]
    for (change,) in edits:
        result = cli("risks", "edit", "CA-TST-001", "--set", change, "--db", db_url)
        assert result.exit_code == 0, result.output
    result = cli("risks", "history", "CA-TST-001", "--format", "json", "--db", db_url)
    versions = json.loads(result.stdout)
    assert [v["version"] for v in versions] == [1, 2, 3, 4]
    assert [v["change"] for v in versions] == ["create", "update", "update", "retire"]
    assert versions[0]["data"]["likelihood"] == "High"
    assert versions[1]["data"]["likelihood"] == "Low"
    assert "-likelihood: High" in versions[1]["diff"]
    assert "+likelihood: Low" in versions[1]["diff"]
    assert "+  ru: Новое название" in versions[2]["diff"]
    assert versions[3]["data"]["status"] == "retired"
    shown = cli("risks", "history", "CA-TST-001", "--db", db_url)
    assert shown.exit_code == 0
    assert "v4" in shown.stdout


def test_an_edit_that_changes_nothing_adds_no_version(db_url: str) -> None:
    load(db_url, SMALL)
    cli("risks", "edit", "CA-TST-001", "--set", "likelihood=High", "--db", db_url)
    result = cli("risks", "history", "CA-TST-001", "--format", "json", "--db", db_url)
    assert len(json.loads(result.stdout)) == 1


def test_measure_edit_rescores_linked_risks_and_is_versioned(db_url: str) -> None:
    load(db_url, SMALL)
    result = cli("measures", "edit", "CA-MSR-900", "--set", "status=agreed", "--db", db_url)
    assert result.exit_code == 0, result.output
    risk = json.loads(cli("risks", "show", "CA-TST-001", "-f", "json", "--db", db_url).stdout)
    assert risk["residual_level"] == risk["level"] == "Very High"
    history = json.loads(cli("measures", "history", "CA-MSR-900", "-f", "json",
                             "--db", db_url).stdout)
    assert [v["data"]["status"] for v in history] == ["implemented", "agreed"]


def test_invalid_edit_is_refused_and_changes_nothing(db_url: str) -> None:
    load(db_url, SMALL)
    result = cli("risks", "edit", "CA-TST-001", "--set", "domain=space", "--db", db_url)
    assert result.exit_code == 2
    assert "domain: Input should be" in result.stderr
    risk = json.loads(cli("risks", "show", "CA-TST-001", "-f", "json", "--db", db_url).stdout)
    assert risk["domain"] == "borders"
    assert risk["version"] == 1
