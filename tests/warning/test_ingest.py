"""`riskatlas events import` on both engines: all of a file or nothing, quarantine of bad rows
with --skip-invalid, idempotent re-import, changed rows updated; list and stats."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import orjson
import pytest
from sqlalchemy import delete, func, inspect, select

from riskatlas.cli_options import operator_scope
from riskatlas.config import Settings
from riskatlas.runtime import Runtime
from riskatlas.warning import bulk, service, writer
from riskatlas.warning.ingest import parse_file
from riskatlas.warning.models import Event, EventBatch
from tests.helpers import cli
from tests.warning import files as g


def _count(db_url: str) -> int:
    """The events stored, as the readers count them (rows of `events` and batches alike)."""
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        return int(service.stats(session, operator_scope())["total"]["rows"])


def _import(db_url: str, path: Path, fmt: str, *extra: str) -> object:
    return cli("events", "import", str(path), "--format", fmt, "--db", db_url, *extra)


def test_bad_rows_are_reported_and_nothing_is_written(db_url: str, tmp_path: Path) -> None:
    rows = [g.acled_row(n) for n in range(1, 6)]
    rows[3]["latitude"] = "north"
    rows.append(g.acled_row(2))  # the same id twice
    path = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, rows)
    result = _import(db_url, path, "acled")
    assert result.exit_code == 2, result.output
    assert f"{path}:5: latitude: not a number: 'north'" in result.output
    assert f"{path}:7: event_id_cnty: the same id as line 3" in result.output
    assert "2 problem(s); nothing was written." in result.output
    assert _count(db_url) == 0
    assert not (tmp_path / "acled.csv.quarantine.csv").exists()


def test_skip_invalid_quarantines_bad_rows_and_imports_the_rest(db_url: str,
                                                               tmp_path: Path) -> None:
    rows = [g.weekly_row(n) for n in range(1, 5)]
    rows[1]["WEEK"] = "2022-09-18"  # a Sunday
    path = g.write_csv(tmp_path / "weekly.csv", g.WEEKLY_COLUMNS, rows)
    result = _import(db_url, path, "acled-weekly", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert f"{path}:3: WEEK: 2022-09-18 is a Sunday" in result.output
    assert _count(db_url) == 3
    quarantine = tmp_path / "weekly.csv.quarantine.csv"
    with quarantine.open(encoding="utf-8", newline="") as f:
        kept = list(csv.reader(f))
    assert kept[0] == g.WEEKLY_COLUMNS and len(kept) == 2 and kept[1][0] == "2022-09-18"
    # The quarantine file, once fixed, imports like any other file.
    fixed = quarantine.read_text(encoding="utf-8").replace("2022-09-18", "2022-09-24")
    quarantine.write_text(fixed, encoding="utf-8")
    assert _import(db_url, quarantine, "acled-weekly").exit_code == 0
    assert _count(db_url) == 4


def test_reimport_adds_nothing_and_a_changed_row_updates(db_url: str, tmp_path: Path) -> None:
    rows = [g.ucdp_row(n) for n in range(1, 4)]
    path = g.write_csv(tmp_path / "ged.csv", g.UCDP_COLUMNS, rows)
    first = _import(db_url, path, "ucdp-ged")
    assert first.exit_code == 0, first.output
    assert "3 row(s) read: 3 added, 0 updated, 0 unchanged" in first.output
    again = _import(db_url, path, "ucdp-ged")
    assert "3 row(s) read: 0 added, 0 updated, 3 unchanged" in again.output
    rows[1]["best"] = "40"
    rows.append(g.ucdp_row(9))
    g.write_csv(path, g.UCDP_COLUMNS, rows)
    changed = _import(db_url, path, "ucdp-ged")
    assert "4 row(s) read: 1 added, 1 updated, 2 unchanged" in changed.output
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        assert session.scalar(select(Event.fatalities).where(
            Event.source_id == rows[1]["id"])) == 40
        assert session.scalar(select(func.count()).select_from(Event)) == 4


def test_every_format_imports_on_both_engines(db_url: str, tmp_path: Path) -> None:
    acled = g.write_csv(tmp_path / "a.csv", g.ACLED_OLD_COLUMNS,
                        [g.acled_row(1, data_id="1", iso3="KGZ")], bom=True)
    gdelt1 = g.write_tsv(tmp_path / "g1.CSV", [g.gdelt_row(1, g.GDELT1)])
    gdelt2 = g.write_tsv(tmp_path / "g2.CSV", [g.gdelt_row(2), g.gdelt_row(3)])
    for path, fmt in ((acled, "acled"), (gdelt1, "gdelt"), (gdelt2, "gdelt")):
        result = _import(db_url, path, fmt, "--tlp", "amber")
        assert result.exit_code == 0, result.output
    assert _count(db_url) == 4
    listed = cli("events", "list", "--db", db_url, "--format", "json", "--source", "gdelt")
    events = json.loads(listed.stdout)
    assert sorted(e["source_id"] for e in events) == ["1000001", "1000002", "1000003"]
    assert {e["tlp"] for e in events} == {"amber"} and {e["owner"] for e in events} == {"C5-SEC"}
    stats = json.loads(cli("events", "stats", "--db", db_url, "--format", "json").stdout)
    assert {s["key"]: s["rows"] for s in stats["by_source"]} == {"acled": 1, "gdelt": 3}
    assert stats["total"] == {"rows": 4, "first": "2022-09-16", "last": "2023-01-31"}
    batken = json.loads(cli("events", "list", "--db", db_url, "--format", "json", "--admin1",
                            "Batken", "--event-type", "Battles").stdout)
    assert sorted(e["source_id"] for e in batken) == ["1000001", "1000002", "1000003", "KGZ1"]
    none = json.loads(cli("events", "stats", "--db", db_url, "--format", "json",
                          "--event-type", "Riots").stdout)
    assert none["total"]["rows"] == 0


def test_list_as_a_user_goes_through_the_policy(db_url: str, tmp_path: Path) -> None:
    path = g.write_csv(tmp_path / "a.csv", g.ACLED_COLUMNS, [g.acled_row(1)])
    assert _import(db_url, path, "acled", "--owner", "KAZ-SC", "--tlp", "amber").exit_code == 0
    for user, org in (("kgz", "KGZ-SC"), ("sau", "SAU-GOV")):
        made = cli("users", "add", user, "--org", org, "--role", "viewer", "--db", db_url)
        assert made.exit_code == 0, made.output
    member = cli("events", "list", "--db", db_url, "--format", "json", "--as", "kgz")
    partner = cli("events", "list", "--db", db_url, "--format", "json", "--as", "sau")
    assert [e["source_id"] for e in json.loads(member.stdout)] == ["KGZ1"]
    assert json.loads(partner.stdout) == []  # AMBER: members only
    stats = cli("events", "stats", "--db", db_url, "--format", "json", "--as", "sau")
    assert json.loads(stats.stdout)["total"]["rows"] == 0


def test_unknown_owner_and_bad_since_exit_2(db_url: str, tmp_path: Path) -> None:
    path = g.write_csv(tmp_path / "a.csv", g.ACLED_COLUMNS, [g.acled_row(1)])
    result = _import(db_url, path, "acled", "--owner", "NOPE")
    assert result.exit_code == 2 and "--owner: no organisation 'NOPE'" in result.output
    assert _count(db_url) == 0
    bad = cli("events", "list", "--db", db_url, "--since", "yesterday")
    assert bad.exit_code == 2 and "--since: not a date" in bad.output


def test_gdelt_quarantine_keeps_the_tab_separated_rows(db_url: str, tmp_path: Path) -> None:
    good, bad = g.gdelt_row(1), g.gdelt_row(2, ActionGeo_CountryCode="ZZ",
                                             SOURCEURL='https://example.org/"a"\\b')
    path = g.write_tsv(tmp_path / "20220916.export.CSV", [good, bad])
    result = _import(db_url, path, "gdelt", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert f"{path}:2: ActionGeo_CountryCode: FIPS 10-4 code 'ZZ'" in result.output
    quarantine = tmp_path / "20220916.export.CSV.quarantine.CSV"
    assert quarantine.read_text(encoding="utf-8") == "\t".join(bad) + "\n"
    assert _count(db_url) == 1


# The DuckDB fast path (warning.bulk) against the row-by-row reader. FAST_MIN_BYTES is lowered
# so that these small files take it; a spy tells which way each import went.
def _varied_acled_rows() -> list[dict[str, str]]:
    rows = [g.acled_row(n) for n in range(1, 13)]
    rows[1].update(event_date="16 May 2025", notes="Two lines,\nwith a comma", actor2="")
    rows[2].update(event_date="12-September-22", iso="", country=" Kyrgyzstan ",
                   interaction="State Forces-Civilians", inter1="State Forces", inter2="7")
    rows[3].update(admin1="\u00a0Osh\u2003", location="", latitude="", longitude="",
                   assoc_actor_1="Police Forces of Kyrgyzstan", tags="crowd size=no report")
    rows[4].update(event_type="Protests", sub_event_type="Peaceful protest", inter2="",
                   interaction="60", inter1="6", fatalities="0", disorder_type="")
    rows[5].update(latitude="-0.5", longitude="+179.25", fatalities="0012", notes='"quoted"')
    rows[6].update(event_id_cnty="XKX7", iso="0", country="Kosovo")
    rows[7].update(notes="", admin2="", timestamp="", source="", region="")
    return rows


def _rows(db_url: str) -> list[tuple[object, ...]]:
    """Every event as the readers show it (rows of `events` and batches alike), but its id."""
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        _, found = service.list_events(session, operator_scope(), service.EventFilters(),
                                       limit=10_000)
        keys = [k for k in found[0] if k != "id"] if found else []
        return sorted(tuple(orjson.dumps(e[k], option=orjson.OPT_SORT_KEYS) if k == "extra"
                            else e[k] for k in keys) for e in found)


class _Spy:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
        self.results: list[object] = []
        real = bulk.read_acled
        monkeypatch.setattr(bulk, "FAST_MIN_BYTES", 0 if fast else 1 << 62)

        def spy(path: Path) -> object:
            found = real(path)
            self.results.append(found)
            return found

        monkeypatch.setattr(bulk, "read_acled", spy)


def test_fast_path_writes_the_rows_the_exact_path_writes(db_url: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    path = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, _varied_acled_rows(), bom=True)
    path.write_bytes(path.read_bytes() + b"\r\n")  # a blank last line
    with monkeypatch.context() as patch:
        spy = _Spy(patch, fast=True)
        patch.setattr(writer, "REBUILD_MIN", 0)  # and the secondary indexes rebuilt
        fast = _import(db_url, path, "acled")
        assert spy.results and spy.results[0] is not None  # the fast path took it
    assert "12 row(s) read: 12 added, 0 updated, 0 unchanged" in fast.output, fast.output
    fast_rows = _rows(db_url)
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        names = {i["name"] for i in inspect(session.connection()).get_indexes("events")}
        assert {"ix_events_series", "ix_events_date", "ix_events_source_date",
                "ix_events_tlp_owner"} <= names
        assert session.scalar(select(func.count()).select_from(EventBatch)) == 1
        session.execute(delete(EventBatch))  # the fast path stores the file as one batch
        session.execute(delete(Event))
    exact = _import(db_url, path, "acled")  # FAST_MIN_BYTES as shipped: the row-by-row way
    assert "12 row(s) read: 12 added, 0 updated, 0 unchanged" in exact.output, exact.output
    assert _rows(db_url) == fast_rows
    # The digests agree: the fast path finds every row of the exact path's import unchanged,
    # and updates the one row that changed.
    rows = _varied_acled_rows()
    rows[3]["fatalities"] = "9"
    g.write_csv(path, g.ACLED_COLUMNS, rows)
    with monkeypatch.context() as patch:
        spy = _Spy(patch, fast=True)
        again = _import(db_url, path, "acled")
        assert spy.results[0] is not None
    assert "12 row(s) read: 0 added, 1 updated, 11 unchanged" in again.output, again.output


@pytest.mark.parametrize("change", [
    {"latitude": "north"},  # checked column by column
    {"event_date": "31/01/2023"},  # checked once per distinct value
    {"latitude": "4_0"},  # a form Python accepts and the fast path leaves to it
    {"fatalities": "3.0"},
    {"notes": "cut\x00off"},
])
def test_a_bad_row_in_a_fast_path_file_gets_the_exact_report(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        change: dict[str, str]) -> None:
    rows = [g.acled_row(n) for n in range(1, 8)]
    rows[4].update(change)
    path = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, rows)
    spy = _Spy(monkeypatch, fast=True)
    _, expected = parse_file(path, "acled")  # the row-by-row reader's report
    result = _import(db_url, path, "acled")
    assert spy.results == [None]  # the fast path declined: the exact reader took over
    if expected:
        assert result.exit_code == 2, result.output
        assert expected[0].startswith(f"{path}:6: ")
        assert expected[0] in result.output
        assert _count(db_url) == 0
    else:  # "4_0", "3.0": valid for the exact reader, which imports them
        assert result.exit_code == 0, result.output
        assert _count(db_url) == 7


def test_fast_path_declines_files_its_strict_reader_refuses(db_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    rows = [g.acled_row(n) for n in range(1, 6)]
    rows.append(g.acled_row(2))  # the same id twice
    path = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, rows)
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text.insert(3, "KGZ99,2023-01-31\n")  # a short row (line 4)
    path.write_text("".join(text), encoding="utf-8")
    spy = _Spy(monkeypatch, fast=True)
    result = _import(db_url, path, "acled", "--skip-invalid")
    assert spy.results == [None]
    assert result.exit_code == 0, result.output
    assert f"{path}:4: row: 2 field(s), the header has 31" in result.output
    assert f"{path}:8: event_id_cnty: the same id as line 3" in result.output
    assert "7 row(s) read: 5 added" in result.output
    assert (tmp_path / "acled.csv.quarantine.csv").exists()


def test_a_compressed_acled_file_takes_the_fast_path_too(db_url: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Unpacked to a scratch file for DuckDB; the same rows as the plain file's exact import,
    and no problem names the scratch file (a bad file goes the exact way, on the archive)."""
    import gzip

    plain = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, _varied_acled_rows())
    exact = _import(db_url, plain, "acled")
    assert "12 row(s) read: 12 added" in exact.output, exact.output
    exact_rows = _rows(db_url)
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        session.execute(delete(Event))
        session.execute(delete(EventBatch))
    packed = tmp_path / "acled.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    with monkeypatch.context() as patch:
        spy = _Spy(patch, fast=True)
        fast = _import(db_url, packed, "acled")
        assert spy.results and spy.results[0] is not None
    assert "12 row(s) read: 12 added" in fast.output, fast.output
    assert _rows(db_url) == exact_rows
    rows = _varied_acled_rows()
    rows[4]["latitude"] = "north"
    g.write_csv(plain, g.ACLED_COLUMNS, rows)
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    with monkeypatch.context() as patch:
        spy = _Spy(patch, fast=True)
        refused = _import(db_url, packed, "acled")
        assert spy.results == [None]  # DuckDB could not vouch for it: the exact reader said why
    assert refused.exit_code == 2
    assert f"{packed}:" in refused.output and "latitude: not a number: 'north'" in \
        refused.output


@pytest.mark.parametrize("fast", [False, True], ids=["exact", "fast"])
def test_only_the_chosen_countries_import(db_url: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, fast: bool) -> None:
    """A global file (UCDP GED, GDELT, ACLED) imported for some countries only: the others'
    rows are left out and counted, on either reader."""
    path = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, _varied_acled_rows())
    with monkeypatch.context() as patch:
        spy = _Spy(patch, fast=fast)
        result = _import(db_url, path, "acled", "--country", "XKX", "--country", "kaz")
        assert (spy.results[0] is not None) if fast else spy.results == []
    assert result.exit_code == 0, result.output
    assert "12 row(s) read: 1 added, 0 updated, 0 unchanged; 11 left out (11 outside " \
           "--country)" in result.output, result.output
    assert [(r[1], r[4]) for r in _rows(db_url)] == [("XKX7", "XKX")]
    again = _import(db_url, path, "acled", "--country", "XKX")
    assert "12 row(s) read: 0 added, 0 updated, 1 unchanged; 11 left out" in again.output
    unknown = _import(db_url, path, "acled", "--country", "XYZ")
    assert unknown.exit_code == 2 and "--country: unknown country code 'XYZ'" in unknown.output
    assert _count(db_url) == 1
