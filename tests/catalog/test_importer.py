"""Malformed imports fail with positions, exit 2 and leave the database exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.helpers import SMALL, cli, export, load


def _broken(tmp_path: Path, name: str, edit) -> Path:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(doc, indent=2, default=str, ensure_ascii=False))
    else:
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


CASES = {
    "unknown enum": (lambda d: d["risks"][0].update(category="imaginary"),
                     "category", "imaginary"),
    "missing field": (lambda d: d["risks"][1].pop("domain"), "domain", None),
    "dangling key": (lambda d: d["measures"][0].update(risks=["CA-TST-001", "CA-NOPE-001"]),
                     "risks[1]", "CA-NOPE-001"),
    "bad date": (lambda d: d["risks"][0]["sources"][0].update(published="2022-02-30"),
                 "sources[0].published", "2022-02-30"),
    "wrong type": (lambda d: d["measures"][1].update(progress="a lot"), "progress", "a lot"),
}


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
@pytest.mark.parametrize("case", list(CASES))
def test_malformed_import_names_position_and_writes_nothing(
    db_url: str, tmp_path: Path, case: str, suffix: str
) -> None:
    # Into an empty database: a stored record would lend the file its missing fields.
    before = export(db_url)
    edit, field, needle = CASES[case]
    path = _broken(tmp_path, "bad" + suffix, edit)
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith(str(path))]
    assert len(lines) == 1, result.stderr
    location, _, rest = lines[0].partition(f": {field}: ")
    assert rest, f"field {field!r} not named in {lines[0]!r}"
    line = int(location.rsplit(":", 1)[1])
    if needle is not None:
        assert line == _line_of(path, needle)
    else:
        assert line > 1
    assert export(db_url) == before


def test_every_problem_is_reported_at_once(db_url: str, tmp_path: Path) -> None:
    def edit(d):  # type: ignore[no-untyped-def]
        d["risks"][0]["likelihood"] = "Extreme"
        d["risks"][1]["states"] = ["KAZ", "XXX"]
        d["measures"][0]["lead"] = "NOBODY"

    path = _broken(tmp_path, "many.yaml", edit)
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert "likelihood: expected one of" in result.stderr
    assert "states[1]: unknown state 'XXX'" in result.stderr
    assert "lead: unknown organisation 'NOBODY'" in result.stderr
    assert "3 problem(s); nothing was written." in result.stderr
    assert export(db_url)["risks"] == []


def test_a_good_record_is_not_written_when_another_is_bad(db_url: str, tmp_path: Path) -> None:
    path = _broken(tmp_path, "half.yaml",
                   lambda d: d["measures"][1]["sources"][0].update(url="not a url"))
    assert cli("import", str(path), "--db", db_url).exit_code == 2
    assert export(db_url) == {"risks": [], "measures": [], "actors": []}


def test_syntax_error_names_the_line(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"risks": [\n  {"key": "A",}\n]}')
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert f"{path}:2: file: invalid JSON" in result.stderr


def test_csv_problems_name_the_row_line(db_url: str, tmp_path: Path) -> None:
    load(db_url, SMALL)
    out = tmp_path / "csv"
    assert cli("export", "--format", "csv", "--output", str(out), "--db", db_url).exit_code == 0
    rows = (out / "risks.csv").read_text(encoding="utf-8").splitlines()
    rows[2] = rows[2].replace(",cyber,", ",space,")
    (out / "risks.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = export(db_url)
    result = cli("import", str(out / "risks.csv"), "--db", db_url)
    assert result.exit_code == 2
    assert f"{out / 'risks.csv'}:3: domain: Input should be" in result.stderr
    assert export(db_url) == before


def test_duplicate_keys_in_one_batch_are_refused(db_url: str, tmp_path: Path) -> None:
    path = _broken(tmp_path, "dup.yaml", lambda d: d["risks"].append(dict(d["risks"][0])))
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert "key: CA-TST-001 is defined twice" in result.stderr


def test_validate_checks_without_writing(db_url: str) -> None:
    result = cli("validate", str(SMALL), "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "2 risks, 2 measures" in result.stderr
    assert export(db_url)["risks"] == []


def test_semicolon_csv_and_bare_json_lists_are_read(db_url: str, tmp_path: Path) -> None:
    load(db_url, SMALL)
    doc = export(db_url)
    out = tmp_path / "csv"
    assert cli("export", "--format", "csv", "--output", str(out), "--db", db_url).exit_code == 0
    import csv as csvmod

    with (out / "risks.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csvmod.reader(fh))
    semi = tmp_path / "semi.csv"
    with semi.open("w", encoding="utf-8-sig", newline="") as fh:  # as a spreadsheet saves it
        csvmod.writer(fh, delimiter=";").writerows(rows)
    bare = tmp_path / "measures.json"
    bare.write_text(json.dumps(doc["measures"], ensure_ascii=False), encoding="utf-8")
    result = cli("validate", str(semi), str(bare), "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "2 risks, 2 measures" in result.stderr


@pytest.mark.parametrize("suffix, escaped", [(".json", "\\u0000"), (".yaml", "\\0"),
                                             (".yaml", "\\x00")])
def test_nul_in_a_file_is_refused_with_its_position(
    db_url: str, tmp_path: Path, suffix: str, escaped: str
) -> None:
    path = _broken(tmp_path, "nul" + suffix,
                   lambda d: d["risks"][1]["summary"].update(en="before MARK after"))
    # Written as an escape in a quoted string: a raw NUL is a syntax error in both formats.
    value = "before MARK after" if suffix == ".json" else '"before MARK after"'
    text = path.read_text(encoding="utf-8").replace("before MARK after", value)
    path.write_text(text.replace("MARK", escaped), encoding="utf-8")
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2, result.output
    line = _line_of(path, "CA-TST-002") - (suffix == ".json")  # where the record starts: "{"
    assert f"{path}:{line}: record: text must not contain NUL characters" in result.stderr
    assert export(db_url)["risks"] == []


def test_text_that_only_looks_like_a_nul_escape_is_accepted(
    db_url: str, tmp_path: Path
) -> None:
    path = _broken(tmp_path, "backslash.json",
                   lambda d: d["risks"][1]["summary"].update(en="a literal \\u0000 in text"))
    load(db_url, path)
    summary = export(db_url)["risks"][1]["summary"]["en"]
    assert summary == "a literal \\u0000 in text"


def test_a_broken_cell_hides_no_other_problem_and_all_come_in_file_order(
    db_url: str, tmp_path: Path
) -> None:
    source = '"[{""title"": ""t"", ""url"": ""https://example.org/x"", ""published"": ""2020""}]"'
    header = ("key,title.en,title.ru,summary.en,summary.ru,category,domain,states,likelihood,"
              "impact,rationale.en,rationale.ru,sources")
    rows = [f"CA-X-001,A,А,S,С,traditional,borders,KGZ,High,High,r,р,{source}",
            'CA-X-002,A,А,S,С,imaginary,borders,KGZ,High,High,r,р,"[{broken json"',
            f"CA-X-001,A,А,S,С,traditional,borders,KGZ,High,High,r,р,{source}"]
    first = tmp_path / "a.csv"
    first.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    second = tmp_path / "b.yaml"
    second.write_text("risks:\n  - key: CA-X-003\n    domain: nowhere\n", encoding="utf-8")
    for command in ("validate", "import"):
        result = cli(command, str(first), str(second), "--db", db_url)
        assert result.exit_code == 2
        lines = [ln for ln in result.stderr.splitlines() if ln.startswith(str(tmp_path))]
        assert lines[:3] == [
            f"{first}:3: sources: invalid JSON in cell: Expecting property name enclosed in "
            "double quotes (character 3)",
            f"{first}:3: category: Input should be 'traditional', 'emerging' or 'hybrid'",
            f"{first}:4: key: CA-X-001 is defined twice (first at {first}:2)",
        ]
        assert lines[3:] and all(ln.startswith(f"{second}:") for ln in lines[3:])
        assert any("domain:" in ln for ln in lines[3:])
    assert export(db_url)["risks"] == []
