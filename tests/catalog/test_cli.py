"""The catalog commands: filters, formats, add, show, helpful errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import yaml

from tests.helpers import SMALL, cli, load


def test_list_filters_and_formats(db_url: str) -> None:
    load(db_url, SMALL)
    cases = {
        ("--domain", "cyber"): {"CA-TST-002"},
        ("--state", "kgz"): {"CA-TST-001"},
        ("--level", "VH"): {"CA-TST-001"},
        ("--status", "draft"): {"CA-TST-002"},
        ("--category", "traditional", "--category", "emerging"): {"CA-TST-001", "CA-TST-002"},
        ("--domain", "cyber", "--state", "KGZ"): set(),
    }
    for args, expected in cases.items():
        result = cli("risks", "list", *args, "--format", "json", "--db", db_url)
        assert result.exit_code == 0, result.output
        assert {r["key"] for r in json.loads(result.stdout)} == expected, args
    as_csv = cli("risks", "list", "--format", "csv", "--db", db_url).stdout
    assert [r["key"] for r in csv.DictReader(io.StringIO(as_csv))] == ["CA-TST-001", "CA-TST-002"]
    as_yaml = yaml.safe_load(cli("risks", "list", "--format", "yaml", "--db", db_url).stdout)
    assert as_yaml[1]["title"]["ru"] == "Второй риск"
    table = cli("risks", "list", "--lang", "ru", "--db", db_url).stdout
    assert "Второй" in table
    measures = cli("measures", "list", "--status", "in progress", "--status", "proposed",
                   "--format", "json", "--db", db_url)
    assert [m["key"] for m in json.loads(measures.stdout)] == ["CA-MSR-901"]


def test_unknown_level_is_a_clear_error(db_url: str) -> None:
    result = cli("risks", "list", "--level", "Extreme", "--db", db_url)
    assert result.exit_code == 2
    assert "level: expected one of Very Low" in result.stderr


def test_add_from_sets_and_show(db_url: str) -> None:
    load(db_url, SMALL)
    result = cli(
        "risks", "add", "--db", db_url, "--set", "key=CA-NEW-001",
        "--set", "title={en: New risk, ru: Новый риск}", "--set", "summary.en=S",
        "--set", "summary.ru=С", "--set", "category=emerging", "--set", "domain=health",
        "--set", "states=[UZB, TKM]", "--set", "likelihood=L", "--set", "impact=VH",
        "--set", "rationale={en: r, ru: р}",
        "--set", "sources=[{title: WHO, url: 'https://example.org/w', published: 2020-07}]",
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(cli("risks", "show", "ca-new-001", "-f", "json", "--db", db_url).stdout)
    assert (shown["level"], shown["states"], shown["status"]) == ("Moderate", ["UZB", "TKM"],
                                                                  "draft")
    again = cli("risks", "add", "--db", db_url, "--set", "key=CA-NEW-001")
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_add_from_file_reports_every_missing_field(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("key: CA-MSR-777\ntitle: {en: M}\n", encoding="utf-8")
    result = cli("measures", "add", "--from", str(path), "--db", db_url)
    assert result.exit_code == 2
    for field in ("title: missing text in ru", "kind: required", "risks: required"):
        assert field in result.stderr


def test_show_unknown_key_fails(db_url: str) -> None:
    result = cli("risks", "show", "CA-NOPE-001", "--db", db_url)
    assert result.exit_code == 1
    assert "no risk 'CA-NOPE-001'" in result.stderr
