"""Event files as they are published: GDELT's zipped exports, gzip, ACLED's aggregated
workbooks (.xlsx), weeks written by a spreadsheet's locale, and GDELT events placed in no
country (left out and counted, not refused)."""

from __future__ import annotations

import csv
import gzip
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from riskatlas.config import Settings
from riskatlas.runtime import Runtime
from riskatlas.warning import fields, inputs
from riskatlas.warning.ingest import parse_file
from riskatlas.warning.models import Event
from tests.helpers import cli
from tests.warning import files as g
from tests.warning.test_formats import REAL_GED


def _events(db_url: str) -> list[tuple[str, str, str | None, date, int, int | None]]:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return [tuple(r) for r in session.execute(  # type: ignore[misc]
            select(Event.source_id, Event.country, Event.admin1, Event.date, Event.events,
                   Event.fatalities).order_by(Event.source_id))]


def _count(db_url: str) -> int:
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def _import(db_url: str, path: Path, fmt: str, *extra: str) -> object:
    return cli("events", "import", str(path), "--format", fmt, "--db", db_url, *extra)


def _gdelt_rows() -> list[list[str]]:
    return [g.gdelt_row(1), g.gdelt_row(2, ActionGeo_CountryCode="TI"),
            # an event placed in no country: left out, counted
            g.gdelt_row(3, ActionGeo_CountryCode="", ActionGeo_ADM1Code=""),
            # an ocean: the first actor's geography places it
            g.gdelt_row(4, ActionGeo_CountryCode="OS", Actor1Geo_CountryCode="UZ",
                        Actor1Geo_ADM1Code="UZ08")]


def test_gdelt_zip_as_published(db_url: str, tmp_path: Path) -> None:
    plain = g.write_tsv(tmp_path / "20220916120000.export.CSV", _gdelt_rows())
    packed = tmp_path / "20220916120000.export.CSV.zip"
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(plain, plain.name)
    plain.unlink()
    result = _import(db_url, packed, "gdelt")
    assert result.exit_code == 0, result.output
    assert "4 row(s) read: 3 added" in result.output
    assert "1 left out (1 placed in no country" in result.output
    assert [(e[0], e[1], e[2]) for e in _events(db_url)] == [
        ("1000001", "KGZ", "Batken"), ("1000002", "TJK", "Batken"),
        ("1000004", "UZB", "UZ08")]  # no Actor1Geo_FullName: the ADM1 code stands
    again = _import(db_url, packed, "gdelt")
    assert "0 added, 0 updated, 3 unchanged" in again.output, again.output


def test_gzip_and_plain_give_the_same_events(db_url: str, tmp_path: Path) -> None:
    rows = [g.acled_row(n) for n in range(1, 6)]
    plain = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, rows)
    events, problems = parse_file(plain, "acled")
    packed = tmp_path / "acled.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert parse_file(packed, "acled") == (events, problems)
    result = _import(db_url, packed, "acled")
    assert result.exit_code == 0, result.output
    assert _count(db_url) == 5


def test_bad_rows_in_an_archive_name_the_archive_and_quarantine_as_text(
        db_url: str, tmp_path: Path) -> None:
    rows = [g.acled_row(n) for n in range(1, 4)]
    rows[1]["latitude"] = "north"
    plain = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, rows)
    packed = tmp_path / "acled.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    refused = _import(db_url, packed, "acled")
    assert refused.exit_code == 2
    assert f"{packed}:3: latitude: not a number: 'north'" in refused.output
    assert _count(db_url) == 0
    kept = _import(db_url, packed, "acled", "--skip-invalid")
    assert kept.exit_code == 0, kept.output
    quarantine = tmp_path / "acled.csv.gz.quarantine.csv"
    with quarantine.open(encoding="utf-8", newline="") as f:
        assert [r[0] for r in csv.reader(f)][1:] == [rows[1]["event_id_cnty"]]
    assert _count(db_url) == 2


@pytest.mark.parametrize("members", [0, 2])
def test_a_zip_must_hold_one_file(db_url: str, tmp_path: Path, members: int) -> None:
    packed = tmp_path / "export.CSV.zip"
    with zipfile.ZipFile(packed, "w") as archive:
        for n in range(members):
            archive.writestr(f"part{n}.CSV", "\t".join(g.gdelt_row(n)) + "\n")
    result = _import(db_url, packed, "gdelt")
    assert result.exit_code == 2
    assert f"{packed}:1: file: the zip file holds {members} files" in result.output
    assert _count(db_url) == 0


def test_a_broken_archive_is_an_error_not_a_crash(db_url: str, tmp_path: Path) -> None:
    full = gzip.compress(("\n".join("\t".join(g.gdelt_row(n)) for n in range(200))).encode())
    cut = tmp_path / "export.CSV.gz"
    cut.write_bytes(full[: len(full) // 2])
    result = _import(db_url, cut, "gdelt")
    assert result.exit_code == 2, result.output
    assert f"{cut}:1: file: cannot be read" in result.output
    fake = tmp_path / "export.CSV.zip"
    fake.write_bytes(b"not a zip at all")
    result = _import(db_url, fake, "gdelt")
    assert result.exit_code == 2
    assert f"{fake}:1: file: not a zip file" in result.output
    assert _count(db_url) == 0


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sheet1"
    sheet.append(g.WEEKLY_COLUMNS)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _weekly_cells(n: int, week: object = datetime(2022, 9, 17), **changes: object
                  ) -> list[object]:
    row: dict[str, object] = {**g.weekly_row(n), "WEEK": week, "EVENTS": 3, "FATALITIES": 5,
                              "POPULATION_EXPOSURE": 12000, "CENTROID_LATITUDE": 40.2,
                              "CENTROID_LONGITUDE": 69.6}
    row.update(changes)
    return [row[c] for c in g.WEEKLY_COLUMNS]


def test_acled_aggregated_workbook(db_url: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Cells as Excel holds them (dates, numbers, empty sub-event type, no longitude at the
    row's end) give the events the same file saved as CSV gives; an import reads the sheet
    once (its writing phase reads the scratch copy)."""
    cells = [_weekly_cells(1), _weekly_cells(2, SUB_EVENT_TYPE=None),
             _weekly_cells(3, CENTROID_LONGITUDE=None), _weekly_cells(4, EVENTS=2.0)]
    book = _workbook(tmp_path / "Europe-Central-Asia_aggregated_data.xlsx", cells)
    text = [{c: inputs.cell_text(v) for c, v in zip(g.WEEKLY_COLUMNS, row, strict=True)}
            for row in cells]
    as_csv = g.write_csv(tmp_path / "aggregated.csv", g.WEEKLY_COLUMNS, text)
    assert parse_file(book, "acled-weekly") == parse_file(as_csv, "acled-weekly")
    reads: list[Path] = []
    real = inputs.sheet_rows

    def counted(path: Path, *args: object) -> inputs.Rows:
        reads.append(path)
        return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(inputs, "sheet_rows", counted)
    result = _import(db_url, book, "acled-weekly")
    assert result.exit_code == 0, result.output
    assert reads == [book]
    stored = _events(db_url)
    assert len(stored) == 4
    assert {e[3] for e in stored} == {date(2022, 9, 17)}
    assert sorted(e[4] for e in stored) == [2, 3, 3, 3]


def test_bad_cells_in_a_workbook_name_the_row_and_quarantine_as_csv(
        db_url: str, tmp_path: Path) -> None:
    cells = [_weekly_cells(1), _weekly_cells(2, week=datetime(2022, 9, 18)),
             _weekly_cells(3, EVENTS="many")]
    book = _workbook(tmp_path / "weekly.xlsx", cells)
    refused = _import(db_url, book, "acled-weekly")
    assert refused.exit_code == 2
    assert f"{book}:3: WEEK: 2022-09-18 is a Sunday" in refused.output
    assert f"{book}:4: EVENTS: not a whole number: 'many'" in refused.output
    assert _count(db_url) == 0
    kept = _import(db_url, book, "acled-weekly", "--skip-invalid")
    assert kept.exit_code == 0, kept.output
    with (tmp_path / "weekly.xlsx.quarantine.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == g.WEEKLY_COLUMNS and [r[0] for r in rows[1:]] == ["2022-09-18",
                                                                       "2022-09-17"]
    assert _count(db_url) == 1


def test_not_a_workbook(db_url: str, tmp_path: Path) -> None:
    fake = tmp_path / "weekly.xlsx"
    fake.write_text("WEEK,REGION\n")
    result = _import(db_url, fake, "acled-weekly")
    assert result.exit_code == 2
    assert f"{fake}:1: file: not a readable .xlsx workbook" in result.output


@pytest.mark.parametrize(("written", "week"), [
    ("9/17/2022", date(2022, 9, 17)),  # US locale
    ("17/09/2022", date(2022, 9, 17)),  # day first
    ("1/6/2018", date(2018, 1, 6)),  # a Saturday only as month/day
    ("6/1/2018", date(2018, 1, 6)),  # ... and only as day/month
    ("2022-09-17 00:00:00", date(2022, 9, 17)),  # a date cell written with its time
])
def test_weeks_written_by_a_spreadsheet(tmp_path: Path, written: str, week: date) -> None:
    path = g.write_csv(tmp_path / "w.csv", g.WEEKLY_COLUMNS, [g.weekly_row(1, WEEK=written)])
    events, problems = parse_file(path, "acled-weekly")
    assert problems == [] and events[0]["date"] == week


def test_a_week_that_is_no_saturday_either_way(tmp_path: Path) -> None:
    path = g.write_csv(tmp_path / "w.csv", g.WEEKLY_COLUMNS, [g.weekly_row(1, WEEK="9/18/2022")])
    _, problems = parse_file(path, "acled-weekly")
    assert problems == [f"{path}:2: WEEK: not a Saturday in any reading of '9/18/2022' "
                        "(month/day/year or day/month/year)"]


def test_cell_text() -> None:
    assert inputs.cell_text(None) == ""
    assert inputs.cell_text(3.0) == "3" and inputs.cell_text(40.25) == "40.25"
    assert inputs.cell_text(datetime(2022, 9, 17)) == "2022-09-17"
    assert inputs.cell_text(datetime(2022, 9, 17, 8, 30)) == "2022-09-17 08:30:00"
    assert inputs.cell_text(date(2022, 9, 17)) == "2022-09-17"
    assert inputs.cell_text(True) == "TRUE" and inputs.cell_text("Sughd") == "Sughd"


def _as_spreadsheet_saved(path: Path, rows: list[dict[str, str]], encoding: str) -> Path:
    """The file a spreadsheet in a Russian locale saves: ';' between fields, dd.mm.yyyy."""
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.DictWriter(out, fieldnames=g.ACLED_COLUMNS, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_file_a_russian_spreadsheet_saved(db_url: str, tmp_path: Path) -> None:
    # and its decimal comma in the coordinates
    rows = [g.acled_row(n, event_date="17.09.2022", notes="Столкновение на границе; 2 ранены",
                        latitude="40,0628", longitude="70,8194") for n in range(1, 4)]
    path = _as_spreadsheet_saved(tmp_path / "acled.csv", rows, "cp1251")
    refused = _import(db_url, path, "acled")
    assert refused.exit_code == 2
    assert f"{path}:2: notes: not valid UTF-8 (a file a spreadsheet saved may be in its own " \
           "encoding: try --encoding cp1251)" in refused.output
    assert _count(db_url) == 0
    result = _import(db_url, path, "acled", "--encoding", "cp1251")
    assert result.exit_code == 0, result.output
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        stored = session.execute(select(Event.date, Event.notes, Event.latitude,
                                        Event.longitude)).all()
    assert {tuple(r) for r in stored} == {(date(2022, 9, 17),
                                           "Столкновение на границе; 2 ранены", 40.0628,
                                           70.8194)}
    unknown = _import(db_url, path, "acled", "--encoding", "klingon")
    assert unknown.exit_code == 2 and "unknown encoding 'klingon'" in unknown.output


@pytest.mark.parametrize(("value", "read"), [("40,0628", 40.0628), ("-3,5", -3.5),
                                            ("40.0628", 40.0628)])
def test_a_decimal_comma_reads(value: str, read: float) -> None:
    assert fields.latitude({"latitude": value}, "latitude") == read


@pytest.mark.parametrize("value", ["40,06,28", "40,", ",5", "40,0628.1", "4 0,1"])
def test_other_commas_are_refused(value: str) -> None:
    with pytest.raises(fields.RowError, match="not a number"):
        fields.latitude({"latitude": value}, "latitude")


def test_semicolons_in_utf8_too(tmp_path: Path) -> None:
    rows = [g.acled_row(n) for n in range(1, 3)]
    path = _as_spreadsheet_saved(tmp_path / "acled.csv", rows, "utf-8")
    events, problems = parse_file(path, "acled")
    assert problems == [] and len(events) == 2


def _number_or_text(value: str) -> object:
    """A field as a JSON API gives it: numbers as numbers."""
    for kind in (int, float):
        try:
            number = kind(value)
        except ValueError:
            continue
        if str(number) == value:  # "0012" or "1e3" stay text, as the CSV has them
            return number
    return value or None


@pytest.mark.skipif(not REAL_GED.exists(), reason="../shared/data (real UCDP GED rows) is "
                    "not present")
def test_ucdp_api_json_gives_the_real_csv_events(tmp_path: Path) -> None:
    import orjson

    with REAL_GED.open(encoding="utf-8", newline="") as f:
        records = [{k: _number_or_text(v) for k, v in row.items()} for row in csv.DictReader(f)]
    api = tmp_path / "gedevents.json"
    api.write_bytes(orjson.dumps({"TotalCount": len(records), "Result": records}))
    from_json, problems = parse_file(api, "ucdp-ged")
    from_csv, csv_problems = parse_file(REAL_GED, "ucdp-ged")
    assert problems == csv_problems == []
    assert len(from_json) == len(from_csv) == 1848
    assert from_json == from_csv


def test_acled_api_json(db_url: str, tmp_path: Path) -> None:
    import orjson

    rows = [g.acled_row(n) for n in range(1, 4)]
    del rows[2]["assoc_actor_1"]  # API answers may leave fields out
    rows[1]["latitude"] = "north"
    api = tmp_path / "acled.json"
    api.write_bytes(orjson.dumps({"status": 200, "success": True, "count": 3, "data": rows}))
    refused = _import(db_url, api, "acled")
    assert refused.exit_code == 2
    assert f"{api}:2: latitude: not a number: 'north'" in refused.output
    kept = _import(db_url, api, "acled", "--skip-invalid")
    assert kept.exit_code == 0, kept.output
    assert "3 row(s) read: 2 added" in kept.output
    assert (tmp_path / "acled.json.quarantine.csv").exists()
    assert _count(db_url) == 2


@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "not valid JSON"),
    (b'{"count": 3}', "JSON of neither a list of records nor an object holding one"),
])
def test_bad_json(tmp_path: Path, body: bytes, reason: str) -> None:
    from riskatlas.warning.ingest import EventImportError

    api = tmp_path / "acled.json"
    api.write_bytes(body)
    with pytest.raises(EventImportError) as caught:
        parse_file(api, "acled")
    assert caught.value.problems[0].startswith(f"{api}:1: file: {reason}")


def test_json_records_that_are_no_rows(tmp_path: Path) -> None:
    import orjson

    good, nested = g.acled_row(1), {**g.acled_row(2), "notes": {"text": "nested"}}
    api = tmp_path / "acled.json"
    api.write_bytes(orjson.dumps([good, nested, "a string"]))
    events, problems = parse_file(api, "acled")
    assert [e["source_id"] for e in events] == [good["event_id_cnty"]]
    assert problems == [f"{api}:2: notes: a nested value, not a field",
                        f"{api}:3: row: a str, not an object of fields"]


def test_gdelt_has_no_json_form(db_url: str, tmp_path: Path) -> None:
    api = tmp_path / "gdelt.json"
    api.write_bytes(b"[]")
    result = _import(db_url, api, "gdelt")
    assert result.exit_code == 2
    assert "gdelt has no JSON form" in result.output


def test_ucdp_ged_border_war_alerts_with_the_default_indicators(db_url: str,
                                                                tmp_path: Path) -> None:
    """UCDP GED alone (no ACLED): the Kyrgyz-Tajik fighting, typed by UCDP as state-based
    conflict between two governments, is counted by the default border indicators, in its
    first week, and the quiet year before raises nothing."""
    import json

    # a year of coverage: one UCDP event elsewhere (another province, no fighting type)
    rows = [g.ucdp_row(1, date_start="2021-09-15T00:00:00", date_end="2021-09-15T00:00:00",
                       adm_1="Chuy province", type_of_violence="3", best="1",
                       side_a="Unknown", side_b="Civilians")]
    for n, day in enumerate(["2022-09-14", "2022-09-15", "2022-09-16", "2022-09-16"], start=2):
        rows.append(g.ucdp_row(n, date_start=f"{day}T00:00:00", date_end=f"{day}T00:00:00"))
    path = g.write_csv(tmp_path / "ged.csv", g.UCDP_COLUMNS, rows)
    imported = _import(db_url, path, "ucdp-ged")
    assert imported.exit_code == 0, imported.output
    result = cli("warning", "backtest", "--since", "2021-09-11", "--until", "2022-09-23",
                 "--db", db_url)
    assert result.exit_code == 0, result.stderr
    found = {(a["indicator"], a["admin1"], a["period_start"])
             for a in json.loads(result.stdout)["alerts"]}
    # ACLED's week of Saturday 2022-09-10 holds the 14th to the 16th
    assert ("CA-EWI-BRD-001", "Batken", "2022-09-10") in found  # "Batken province" in GED
    assert ("CA-EWI-BRD-002", "Batken", "2022-09-10") in found  # 48 deaths
    assert all(start == "2022-09-10" for _, _, start in found)
