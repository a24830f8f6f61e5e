"""Generated event files in each format and column set, for the ingest tests."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from riskatlas.warning.formats import GDELT1, GDELT2

_ACLED_COLUMNS = (
    "event_id_cnty, event_date, year, time_precision, disorder_type, event_type, "
    "sub_event_type, actor1, assoc_actor_1, inter1, actor2, assoc_actor_2, inter2, interaction, "
    "civilian_targeting, iso, region, country, admin1, admin2, admin3, location, latitude, "
    "longitude, geo_precision, source, source_scale, notes, fatalities, tags, timestamp"
)
# An older export: data_id, iso3 and event_id_no_cnty, no disorder_type, civilian_targeting or
# assoc_actor_* (as some API requests give).
_ACLED_OLD_COLUMNS = (
    "data_id, iso, event_id_cnty, event_id_no_cnty, event_date, year, time_precision, "
    "event_type, sub_event_type, actor1, inter1, actor2, inter2, interaction, region, country, "
    "admin1, admin2, admin3, location, latitude, longitude, geo_precision, source, "
    "source_scale, notes, fatalities, timestamp, iso3"
)
_WEEKLY_COLUMNS = ("WEEK, REGION, COUNTRY, ADMIN1, EVENT_TYPE, SUB_EVENT_TYPE, EVENTS, "
                  "FATALITIES, POPULATION_EXPOSURE, DISORDER_TYPE, ID, CENTROID_LATITUDE, "
                  "CENTROID_LONGITUDE")
_UCDP_COLUMNS = (
    "id, relid, year, active_year, code_status, type_of_violence, conflict_dset_id, "
    "conflict_new_id, conflict_name, dyad_dset_id, dyad_new_id, dyad_name, side_a_dset_id, "
    "side_a_new_id, side_a, side_b_dset_id, side_b_new_id, side_b, number_of_sources, "
    "source_article, source_office, source_date, source_headline, source_original, where_prec, "
    "where_coordinates, where_description, adm_1, adm_2, latitude, longitude, geom_wkt, "
    "priogrid_gid, country, country_id, region, event_clarity, date_prec, date_start, date_end, "
    "deaths_a, deaths_b, deaths_civilians, deaths_unknown, best, high, low, gwnoa, gwnob"
)
ACLED_COLUMNS = _ACLED_COLUMNS.split(", ")
ACLED_OLD_COLUMNS = _ACLED_OLD_COLUMNS.split(", ")
WEEKLY_COLUMNS = _WEEKLY_COLUMNS.split(", ")
UCDP_COLUMNS = _UCDP_COLUMNS.split(", ")


def acled_row(n: int, **changes: Any) -> dict[str, Any]:
    row = {c: "" for c in ACLED_COLUMNS}
    row.update({
        "event_id_cnty": f"KGZ{n}", "event_date": "2023-01-31", "year": "2023",
        "time_precision": "1", "disorder_type": "Political violence", "event_type": "Battles",
        "sub_event_type": "Armed clash", "actor1": "Military Forces of Kyrgyzstan (2021-)",
        "inter1": "1", "actor2": "Military Forces of Tajikistan (1994-)", "inter2": "8",
        "interaction": "18", "iso": "417", "region": "Caucasus and Central Asia",
        "country": "Kyrgyzstan", "admin1": "Batken", "admin2": "Leilek", "location": "Kulundu",
        "latitude": "40.0167", "longitude": "69.7333", "geo_precision": "1",
        "source": "AKIpress", "source_scale": "National", "notes": "Border clash; «кол»",
        "fatalities": "2", "tags": "", "timestamp": "1675200000",
    })
    row.update(changes)
    return row


def weekly_row(n: int, **changes: Any) -> dict[str, Any]:
    row = {"WEEK": "2022-09-17", "REGION": "Caucasus and Central Asia", "COUNTRY": "Tajikistan",
           "ADMIN1": "Sughd", "EVENT_TYPE": "Battles", "SUB_EVENT_TYPE": "Armed clash",
           "EVENTS": "3", "FATALITIES": "5", "POPULATION_EXPOSURE": "12000",
           "DISORDER_TYPE": "Political violence", "ID": f"TJK-{n}",
           "CENTROID_LATITUDE": "40.2", "CENTROID_LONGITUDE": "69.6"}
    row.update(changes)
    return row


def ucdp_row(n: int, **changes: Any) -> dict[str, Any]:
    row = {c: "" for c in UCDP_COLUMNS}
    row.update({
        "id": str(400000 + n), "relid": "0", "year": "2022", "active_year": "1",
        "code_status": "Clear", "type_of_violence": "1", "conflict_name": "Kyrgyzstan - "
        "Tajikistan", "dyad_name": "Government of Kyrgyzstan - Government of Tajikistan",
        "side_a": "Government of Kyrgyzstan", "side_b": "Government of Tajikistan",
        "where_prec": "1", "where_coordinates": "Kulundu village",
        "where_description": "Kulundu, Leilek district", "adm_1": "Batken province",
        "latitude": "40.0167", "longitude": "69.7333", "country": "Kyrgyzstan",
        "country_id": "703", "region": "Asia", "event_clarity": "1", "date_prec": "1",
        "date_start": "2022-09-16T00:00:00", "date_end": "2022-09-16T00:00:00", "best": "12",
        "high": "15", "low": "10"})
    row.update(changes)
    return row


def gdelt_row(n: int, columns: Sequence[str] = GDELT2, **changes: Any) -> list[str]:
    row = {c: "" for c in columns}
    row.update({
        "GLOBALEVENTID": str(1000000 + n), "SQLDATE": "20220916", "MonthYear": "202209",
        "Year": "2022", "FractionDate": "2022.7068", "Actor1Code": "KGZMIL",
        "Actor1Name": "KYRGYZSTAN", "Actor1CountryCode": "KGZ", "Actor2Code": "TJKMIL",
        "Actor2Name": "TAJIKISTAN", "Actor2CountryCode": "TJK", "IsRootEvent": "1",
        "EventCode": "190", "EventBaseCode": "190", "EventRootCode": "19", "QuadClass": "4",
        "GoldsteinScale": "-10.0", "NumMentions": "10", "NumSources": "2", "NumArticles": "10",
        "AvgTone": "-7.5", "ActionGeo_Type": "4", "ActionGeo_FullName": "Batken, Batken, "
        "Kyrgyzstan", "ActionGeo_CountryCode": "KG", "ActionGeo_ADM1Code": "KG09",
        "ActionGeo_Lat": "40.0627", "ActionGeo_Long": "70.8194", "ActionGeo_FeatureID": "-1",
        "DATEADDED": "20220916120000" if len(columns) == 61 else "20220916",
        "SOURCEURL": "https://example.org/news"})
    row.update(changes)
    return [row[c] for c in columns]


def write_csv(path: Path, columns: Sequence[str], rows: list[dict[str, Any]],
              bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def write_tsv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        for row in rows:
            out.write("\t".join(row) + "\n")
    return path


__all__ = ["GDELT1", "GDELT2"]
