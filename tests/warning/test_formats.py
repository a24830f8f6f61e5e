"""Each format's reader on generated files (every column set and date format) and on real UCDP
GED rows: what it reads, and the exact `file:line: column: reason` of what it refuses."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from riskatlas.warning import countries
from riskatlas.warning.ingest import EventImportError, parse_file
from tests.conftest import SHARED
from tests.warning import files as g

REAL_GED = SHARED / "data" / "ucdp-ged-v23.1-central-african-republic.csv"


def test_acled_current_export_with_bom(tmp_path: Path) -> None:
    path = g.write_csv(tmp_path / "acled.csv", g.ACLED_COLUMNS, [g.acled_row(1)], bom=True)
    events, problems = parse_file(path, "acled")
    assert problems == []
    [event] = events
    assert event["source_id"] == "KGZ1"
    assert event["date"] == date(2023, 1, 31)
    assert (event["country"], event["admin1"], event["location"]) == ("KGZ", "Batken", "Kulundu")
    assert (event["latitude"], event["longitude"]) == (40.0167, 69.7333)
    assert (event["event_type"], event["sub_type"]) == ("Battles", "Armed clash")
    assert event["fatalities"] == 2 and event["events"] == 1
    assert event["notes"] == "Border clash; «кол»"
    assert event["extra"]["interaction"] == 18
    assert event["extra"]["inter1"] == 1 and event["extra"]["inter2"] == 8
    assert event["extra"]["disorder_type"] == "Political violence"


@pytest.mark.parametrize(("text", "expected"), [
    ("2023-01-31", date(2023, 1, 31)), ("16 May 2025", date(2025, 5, 16)),
    ("12-September-22", date(2022, 9, 12)), ("3 Feb 2024", date(2024, 2, 3))])
def test_acled_date_formats(tmp_path: Path, text: str, expected: date) -> None:
    path = g.write_csv(tmp_path / "a.csv", g.ACLED_COLUMNS, [g.acled_row(1, event_date=text)])
    events, problems = parse_file(path, "acled")
    assert problems == [] and events[0]["date"] == expected


def test_acled_older_column_set_without_assoc_actors(tmp_path: Path) -> None:
    row = g.acled_row(7, data_id="9001", event_id_no_cnty="7", iso3="TJK", iso="",
                      country="Tajikistan", interaction="State Forces-External/Other Forces",
                      inter1="State Forces", inter2="8")
    path = g.write_csv(tmp_path / "old.csv", g.ACLED_OLD_COLUMNS, [row])
    events, problems = parse_file(path, "acled")
    assert problems == []
    assert events[0]["country"] == "TJK"  # iso3 wins over iso and the name
    assert events[0]["extra"]["interaction"] == 18
    assert events[0]["extra"]["inter1"] == 1
    assert "assoc_actor_1" not in events[0]["extra"]


def test_acled_interaction_as_text_and_sole_actor(tmp_path: Path) -> None:
    rows = [g.acled_row(1, interaction="Sole Protesters"), g.acled_row(2, interaction="60")]
    path = g.write_csv(tmp_path / "a.csv", g.ACLED_COLUMNS, rows)
    events, problems = parse_file(path, "acled")
    assert problems == []
    assert [e["extra"]["interaction"] for e in events] == [60, 60]


def test_acled_bad_rows_are_named_by_line_and_column(tmp_path: Path) -> None:
    rows = [g.acled_row(1), g.acled_row(2, event_date="31/31/2023"),
            g.acled_row(3, latitude="95"), g.acled_row(4, sub_event_type="Peaceful protest"),
            g.acled_row(5, fatalities="many"), g.acled_row(6, iso="999"),
            g.acled_row(7, interaction="99"), g.acled_row(1)]
    path = g.write_csv(tmp_path / "bad.csv", g.ACLED_COLUMNS, rows)
    events, problems = parse_file(path, "acled")
    assert len(events) == 2  # row 1 and its duplicate on line 9 (duplicates: see test_ingest)
    assert problems == [
        f"{path}:3: event_date: not a date: '31/31/2023' (expected e.g. 2023-01-31, "
        "16 May 2025 or 12-September-22)",
        f"{path}:4: latitude: 95 is out of range (-90 to 90)",
        f"{path}:5: sub_event_type: 'Peaceful protest' is not a sub-event type of 'Battles'",
        f"{path}:6: fatalities: not a whole number: 'many'",
        f"{path}:7: iso: unknown ISO 3166-1 numeric code '999'",
        f"{path}:8: interaction: not an ACLED interaction (e.g. 17 or 'State Forces-"
        "Civilians'): '99'",
    ]


def test_a_missing_column_is_a_header_problem(tmp_path: Path) -> None:
    columns = [c for c in g.ACLED_COLUMNS if c != "fatalities"]
    path = g.write_csv(tmp_path / "a.csv", columns, [g.acled_row(1)])
    with pytest.raises(EventImportError) as caught:
        parse_file(path, "acled")
    assert caught.value.problems == [f"{path}:1: header: missing column(s) fatalities"]


def test_hdx_hashtag_row_is_skipped(tmp_path: Path) -> None:
    """The Humanitarian Data Exchange's files put an HXL hashtag row under the header."""
    path = tmp_path / "conflict_data_kgz.csv"
    g.write_csv(path, g.ACLED_COLUMNS, [g.acled_row(1), g.acled_row(2)])
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    tags = ",".join("#" + c.replace("_", "+") for c in g.ACLED_COLUMNS) + "\r\n"
    path.write_text(lines[0] + tags + "".join(lines[1:]), encoding="utf-8")
    events, problems = parse_file(path, "acled")
    assert problems == [] and len(events) == 2
    # only the row under the header: a later row of hashtags is a bad row, named by its line
    path.write_text(lines[0] + tags + lines[1] + tags, encoding="utf-8")
    events, problems = parse_file(path, "acled")
    assert len(events) == 1 and len(problems) == 1 and problems[0].startswith(f"{path}:4: ")


def test_weekly_aggregates(tmp_path: Path) -> None:
    rows = [g.weekly_row(1), g.weekly_row(2, SUB_EVENT_TYPE="", EVENT_TYPE="Protests",
                                          COUNTRY="Kyrgyzstan", EVENTS="7", FATALITIES="0")]
    path = g.write_csv(tmp_path / "w.csv", g.WEEKLY_COLUMNS, rows)
    events, problems = parse_file(path, "acled-weekly")
    assert problems == []
    assert [(e["country"], e["period"], e["date"], e["events"], e["sub_type"]) for e in events] \
        == [("TJK", "week", date(2022, 9, 17), 3, "Armed clash"),
            ("KGZ", "week", date(2022, 9, 17), 7, None)]
    assert events[0]["fatalities"] == 5
    assert events[0]["source_id"] != events[1]["source_id"]


def test_weekly_week_must_be_a_saturday(tmp_path: Path) -> None:
    rows = [g.weekly_row(1, WEEK="2022-09-19"), g.weekly_row(2, COUNTRY="Atlantis"),
            g.weekly_row(3, EVENTS="0")]
    path = g.write_csv(tmp_path / "w.csv", g.WEEKLY_COLUMNS, rows)
    _, problems = parse_file(path, "acled-weekly")
    assert problems == [
        f"{path}:2: WEEK: 2022-09-19 is a Monday; ACLED weeks start on a Saturday",
        f"{path}:3: COUNTRY: unknown country name 'Atlantis'",
        f"{path}:4: EVENTS: 0 is out of range (1 to 2147483647)",
    ]


def test_ucdp_ged_generated_and_gw_codes(tmp_path: Path) -> None:
    rows = [g.ucdp_row(1), g.ucdp_row(2, country_id="702", country="Tajikistan",
                                      type_of_violence="3", date_start="2021-04-29")]
    path = g.write_csv(tmp_path / "ged.csv", g.UCDP_COLUMNS, rows)
    events, problems = parse_file(path, "ucdp-ged")
    assert problems == []
    assert [(e["country"], e["event_type"], e["date"]) for e in events] == [
        ("KGZ", "State-based conflict", date(2022, 9, 16)),
        ("TJK", "One-sided violence", date(2021, 4, 29))]
    assert events[0]["fatalities"] == 12
    assert (events[0]["actor1"], events[0]["actor2"]) == ("Government of Kyrgyzstan",
                                                         "Government of Tajikistan")
    assert events[0]["admin1"] == "Batken"  # "Batken province" in the file
    assert events[0]["extra"]["adm_1"] == "Batken province"


def test_ucdp_admin1_kinds(tmp_path: Path) -> None:
    names = ["Gorno-Badakhshan Autonomous province", "Bishkek city", "Free State province",
             "Karakalpakstan autonomous republic", "", "Sughd"]
    rows = [g.ucdp_row(i, adm_1=name) for i, name in enumerate(names)]
    events, problems = parse_file(g.write_csv(tmp_path / "ged.csv", g.UCDP_COLUMNS, rows),
                                  "ucdp-ged")
    assert problems == []
    assert [e["admin1"] for e in events] == ["Gorno-Badakhshan", "Bishkek city", "Free State",
                                             "Karakalpakstan", None, "Sughd"]
    assert [e["extra"].get("adm_1") for e in events] == [
        "Gorno-Badakhshan Autonomous province", None, "Free State province",
        "Karakalpakstan autonomous republic", None, None]


def test_ucdp_older_column_set(tmp_path: Path) -> None:
    dropped = {"relid", "code_status", "conflict_dset_id", "dyad_dset_id", "side_a_dset_id",
               "side_b_dset_id", "source_office", "source_date", "source_headline",
               "source_original", "where_description"}
    columns = [c for c in g.UCDP_COLUMNS if c not in dropped]
    assert len(columns) == 38
    path = g.write_csv(tmp_path / "old.csv", columns, [g.ucdp_row(1)])
    events, problems = parse_file(path, "ucdp-ged")
    assert problems == [] and events[0]["country"] == "KGZ" and events[0]["notes"] is None


def test_ucdp_bad_rows(tmp_path: Path) -> None:
    rows = [g.ucdp_row(1, type_of_violence="4"), g.ucdp_row(2, date_start="16/09/2022"),
            g.ucdp_row(3, country_id="9999", country="Nowhere"), g.ucdp_row(4, best="-1")]
    path = g.write_csv(tmp_path / "ged.csv", g.UCDP_COLUMNS, rows)
    _, problems = parse_file(path, "ucdp-ged")
    assert problems == [
        f"{path}:2: type_of_violence: unknown value '4'",
        f"{path}:3: date_start: not a date: '16/09/2022' (expected YYYY-MM-DD)",
        f"{path}:4: country_id: unknown country name 'Nowhere'",
        f"{path}:5: best: -1 is out of range (0 to 2147483647)",
    ]


@pytest.mark.skipif(not REAL_GED.exists(), reason="../shared/data (real UCDP GED rows) is "
                    "not present")
def test_real_ucdp_ged_rows() -> None:
    events, problems = parse_file(REAL_GED, "ucdp-ged")
    assert problems == []
    assert len(events) == 1848  # the README's count
    assert {e["country"] for e in events} == {"CAF"}
    first = events[0]  # the file's first row, read by hand
    assert first["source_id"] == "36210"
    assert first["date"] == date(2009, 2, 20)
    assert (first["actor1"], first["actor2"]) == ("Government of Uganda", "LRA")
    assert first["fatalities"] == 3
    assert (first["latitude"], first["longitude"]) == (5.399784, 26.486881)
    assert first["event_type"] == "State-based conflict"
    third = events[2]
    # stored as ACLED names it, UCDP's spelling kept beside it
    assert third["admin1"] == "Haut-Mbomou" and third["fatalities"] == 21
    assert third["extra"]["adm_1"] == "Haut-Mbomou province"
    assert {e["admin1"] for e in events if e["admin1"]} >= {"Ouham-Pendé", "Ombella-M'Poko",
                                                          "Bangui", "Nana-Grébizi"}
    assert not any(e["admin1"].endswith("province") for e in events if e["admin1"])
    assert min(e["date"] for e in events) == date(1991, 8, 8)
    assert max(e["date"] for e in events) == date(2022, 12, 30)


@pytest.mark.parametrize("columns", [g.GDELT2, g.GDELT1], ids=["gdelt2-61", "gdelt1-58"])
def test_gdelt_both_column_counts(tmp_path: Path, columns: tuple[str, ...]) -> None:
    rows = [g.gdelt_row(1, columns),
            g.gdelt_row(2, columns, EventRootCode="14", EventCode="145",
                        ActionGeo_CountryCode="TI", ActionGeo_FullName="Dushanbe"),
            g.gdelt_row(3, columns, EventRootCode="19", EventCode="195",
                        ActionGeo_CountryCode="", Actor1Geo_CountryCode="TX"),
            g.gdelt_row(4, columns, EventRootCode="04", EventCode="040",
                        ActionGeo_CountryCode="UZ")]
    path = g.write_tsv(tmp_path / "gdelt.CSV", rows)
    events, problems = parse_file(path, "gdelt")
    assert problems == []
    assert [(e["country"], e["event_type"]) for e in events] == [
        ("KGZ", "Battles"), ("TJK", "Riots"), ("TKM", "Explosions/Remote violence"),
        ("UZB", "Consult")]
    assert events[0]["date"] == date(2022, 9, 16)
    assert events[0]["extra"]["goldsteinscale"] == -10.0
    # the province by name from the full name ("Batken, Batken, Kyrgyzstan"), its FIPS code
    # kept; "Dushanbe" alone names no province
    assert events[0]["admin1"] == "Batken" and events[0]["extra"]["adm1_code"] == "KG09"
    assert events[1]["admin1"] == "KG09"


def test_gdelt_admin1_by_geography_type(tmp_path: Path) -> None:
    rows = [g.gdelt_row(1, ActionGeo_Type="5", ActionGeo_FullName="Osh, Kyrgyzstan",
                        ActionGeo_ADM1Code="KG08"),
            g.gdelt_row(2, ActionGeo_Type="1", ActionGeo_FullName="Kyrgyzstan",
                        ActionGeo_ADM1Code="KG"),
            g.gdelt_row(3, ActionGeo_Type="4", ActionGeo_FullName="Khujand, Sughd, Tajikistan",
                        ActionGeo_CountryCode="TI", ActionGeo_ADM1Code="TI02"),
            g.gdelt_row(4, ActionGeo_Type="4", ActionGeo_FullName="", ActionGeo_ADM1Code="")]
    events, problems = parse_file(g.write_tsv(tmp_path / "gdelt.CSV", rows), "gdelt")
    assert problems == []
    assert [e["admin1"] for e in events] == ["Osh", None, "Sughd", None]
    assert [e["location"] for e in events] == ["Osh, Kyrgyzstan", "Kyrgyzstan",
                                               "Khujand, Sughd, Tajikistan", None]


def test_gdelt_bad_rows(tmp_path: Path) -> None:
    rows = [g.gdelt_row(1, ActionGeo_CountryCode="ZZ"), g.gdelt_row(2, EventRootCode="21"),
            g.gdelt_row(3)[:40], g.gdelt_row(4, SQLDATE="2022-09-16")]
    path = g.write_tsv(tmp_path / "gdelt.CSV", rows)
    _, problems = parse_file(path, "gdelt")
    assert problems == [
        f"{path}:1: ActionGeo_CountryCode: FIPS 10-4 code 'ZZ' is not in the table of "
        "riskatlas.warning.countries.FIPS",
        f"{path}:2: EventRootCode: not a CAMEO root code (01-20): '21'",
        f"{path}:3: row: 40 field(s), expected 61 or 58",
        f"{path}:4: SQLDATE: not a date: '2022-09-16' (expected YYYYMMDD)",
    ]


def test_country_codes() -> None:
    assert countries.from_numeric("398") == "KAZ"
    assert countries.from_numeric("860") == "UZB"
    assert countries.from_gw("701") == "TKM" and countries.from_gw("705") == "KAZ"
    assert countries.from_fips("TI") == "TJK" and countries.from_fips("TX") == "TKM"
    assert countries.from_name("Russia (Soviet Union)") == "RUS"
    assert countries.from_name("Kyrgyzstan") == "KGZ"
    assert countries.from_iso3("kaz") == "KAZ"
    # Austria in FIPS is AU, Australia AS: the table, never ISO alpha-2 guessed
    assert countries.from_fips("AU") == "AUT" and countries.from_fips("AS") == "AUS"
    assert countries.from_fips("RI") == "SRB" and countries.from_fips("KV") == "XKX"
    with pytest.raises(countries.UnknownCountry):
        countries.from_fips("ZZ")


def test_fips_table_covers_gdelt_countries() -> None:
    """Every code of the table maps to a country pycountry knows (or Kosovo), and none is
    both a country and an area without one."""
    import pycountry

    assert len(countries.FIPS) >= 250
    for code, iso3 in countries.FIPS.items():
        assert len(code) == 2 and code.isupper()
        assert iso3 == "XKX" or pycountry.countries.get(alpha_3=iso3) is not None, code
    assert not countries.FIPS_NOT_A_COUNTRY & countries.FIPS.keys()


def test_country_names_in_russian() -> None:
    assert [countries.from_name(n) for n in ("Кыргызстан", "киргизия", "Республика Таджикистан",
                                             "Казахстан", "ОАЭ")] == [
        "KGZ", "KGZ", "TJK", "KAZ", "ARE"]


def test_country_names_acled_spells_its_own_way() -> None:
    for name, iso3 in (("Turkiye", "TUR"), ("Brunei", "BRN"), ("Sint Maarten", "SXM"),
                       ("Caribbean Netherlands", "BES"), ("Falkland Islands", "FLK")):
        assert countries.from_name(name) == iso3
