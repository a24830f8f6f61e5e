"""The event file formats: each turns one raw row into the columns of `events`.

A format names its source, its delimiter, whether the file has a header, the columns it
requires, and a `parse(row)` that returns the normalised event or raises fields.RowError. The
column lists and codes come from docs/events.md. Files with a header are read by column name
(lower-cased), so the older column sets of ACLED and UCDP GED read the same way as the current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from riskatlas.warning import countries, places
from riskatlas.warning import fields as f
from riskatlas.warning.fields import Row, RowError

ACLED_TYPES: dict[str, frozenset[str]] = {
    "Battles": frozenset({"Armed clash", "Government regains territory",
                          "Non-state actor overtakes territory"}),
    "Explosions/Remote violence": frozenset({
        "Chemical weapon", "Air/drone strike", "Suicide bomb",
        "Shelling/artillery/missile attack", "Remote explosive/landmine/IED", "Grenade"}),
    "Violence against civilians": frozenset({"Sexual violence", "Attack",
                                             "Abduction/forced disappearance"}),
    "Protests": frozenset({"Peaceful protest", "Protest with intervention",
                           "Excessive force against protesters"}),
    "Riots": frozenset({"Violent demonstration", "Mob violence"}),
    "Strategic developments": frozenset({
        "Agreement", "Arrests", "Change to group/activity", "Disrupted weapons use",
        "Headquarters or base established", "Looting/property destruction",
        "Non-violent transfer of territory", "Other"}),
}
# ACLED's actor types (inter1, inter2); `interaction` combines two of them ("17"), or one
# alone ("10": sole state forces). acledR writes the same as text; both are accepted.
INTER = {1: "State Forces", 2: "Rebel Groups", 3: "Political Militias",
         4: "Identity Militias", 5: "Rioters", 6: "Protesters", 7: "Civilians",
         8: "External/Other Forces"}
_INTER_BY_NAME = {name.lower(): code for code, name in INTER.items()}


@dataclass(frozen=True)
class Format:
    name: str  # the --format value and the events' source
    parse: Callable[[Row], dict[str, Any]]
    required: tuple[tuple[str, ...], ...]  # each: one of these columns must be in the header
    delimiter: str = ","
    header: bool = True
    columns: dict[int, tuple[str, ...]] | None = None  # headerless: field count -> names

    def missing(self, header: list[str]) -> list[str]:
        have = set(header)
        return [" or ".join(names) for names in self.required if not have & set(names)]


def _inter(row: Row, column: str) -> int | None:
    value = f.text(row, column)
    if value is None:
        return None
    if value.isdigit() and int(value) in INTER:
        return int(value)
    if value.lower() in _INTER_BY_NAME:
        return _INTER_BY_NAME[value.lower()]
    raise RowError(column, f"not an actor type (1-8 or a name such as 'State Forces'): "
                           f"{value!r}")


def _interaction(row: Row) -> int | None:
    value = f.text(row, "interaction")
    if value is None:
        return None
    if value.isdigit():
        first, second = divmod(int(value), 10)
        if first in INTER and (second == 0 or second in INTER) and len(value) == 2:
            return int(value)
    else:  # text: "Sole State Forces", "State Forces-Civilians" (acledR), any case
        words = value.lower()
        if words.startswith("sole ") and words[5:] in _INTER_BY_NAME:
            return _INTER_BY_NAME[words[5:]] * 10
        for sep in ("-", " - ", " versus ", " vs "):
            left, found, right = words.partition(sep)
            if found and left.strip() in _INTER_BY_NAME and right.strip() in _INTER_BY_NAME:
                return _INTER_BY_NAME[left.strip()] * 10 + _INTER_BY_NAME[right.strip()]
    raise RowError("interaction", f"not an ACLED interaction (e.g. 17 or 'State Forces-"
                                  f"Civilians'): {value!r}")


def _acled_country(row: Row) -> str:
    for column, read in (("iso3", countries.from_iso3), ("iso", countries.from_numeric),
                         ("country", countries.from_name)):
        value = f.text(row, column)
        if value is not None:
            try:
                return read(value)
            except countries.UnknownCountry as exc:
                raise RowError(column, str(exc)) from None
    raise RowError("country", "required, but empty (and no iso or iso3 either)")


def _event_type(row: Row, type_column: str, sub_column: str,
                sub_required: bool) -> tuple[str, str | None]:
    event_type = f.required(row, type_column)
    if event_type not in ACLED_TYPES:
        raise RowError(type_column, f"unknown event type {event_type!r}")
    sub_type = f.text(row, sub_column, required=sub_required)
    if sub_type is not None and sub_type not in ACLED_TYPES[event_type]:
        raise RowError(sub_column, f"{sub_type!r} is not a sub-event type of {event_type!r}")
    return event_type, sub_type


def _extra(row: Row, *columns: str) -> dict[str, Any]:
    return {c: v for c in columns if (v := f.text(row, c)) is not None}


def parse_acled(row: Row) -> dict[str, Any]:
    source_id = f.text(row, "event_id_cnty", 200) or f.text(row, "data_id", 200)
    if source_id is None:
        raise RowError("event_id_cnty", "required, but empty (and no data_id either)")
    event_type, sub_type = _event_type(row, "event_type", "sub_event_type", True)
    extra = _extra(row, "disorder_type", "civilian_targeting", "assoc_actor_1",
                   "assoc_actor_2", "region", "admin2", "admin3", "time_precision",
                   "geo_precision", "source", "source_scale", "tags", "timestamp",
                   "event_id_no_cnty", "data_id")
    for column in ("inter1", "inter2"):
        if (code := _inter(row, column)) is not None:
            extra[column] = code
    if (interaction := _interaction(row)) is not None:
        extra["interaction"] = interaction
    return {
        "source_id": source_id, "period": "day", "date": f.day(row, "event_date"),
        "country": _acled_country(row), "admin1": f.text(row, "admin1", 120),
        "location": f.text(row, "location", 255), "latitude": f.latitude(row, "latitude"),
        "longitude": f.longitude(row, "longitude"), "event_type": event_type,
        "sub_type": sub_type, "actor1": f.text(row, "actor1"), "actor2": f.text(row, "actor2"),
        "fatalities": f.integer(row, "fatalities", required=True), "events": 1,
        "notes": f.text(row, "notes"), "extra": extra or None,
    }


# A workbook saved as CSV by a spreadsheet writes WEEK in its locale: 1/6/2018 (US) or
# 6/1/2018 (most of the rest). ACLED's weeks start on a Saturday, which tells them apart.
SLASHED = ("%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d/%m/%y")


def _week(row: Row) -> date:
    value = f.required(row, "week")
    if value.endswith((" 00:00:00", "T00:00:00")):  # a date cell written with its time
        value = value[:-9]
    if "/" not in value:
        return f.day({"week": value}, "week")
    readings = {found for fmt in SLASHED
                if (found := f.parsed(value, (fmt,))) is not None and found.weekday() == 5}
    if len(readings) == 1:
        return readings.pop()
    if readings:
        raise RowError("week", f"{value!r} is a Saturday read as month/day and as day/month: "
                               "write it as YYYY-MM-DD")
    raise RowError("week", f"not a Saturday in any reading of {value!r} (month/day/year or "
                           "day/month/year)")


def parse_acled_weekly(row: Row) -> dict[str, Any]:
    week = _week(row)
    if week.weekday() != 5:
        raise RowError("week", f"{week.isoformat()} is a {week.strftime('%A')}; ACLED weeks "
                               "start on a Saturday")
    name = f.required(row, "country")
    try:
        country = countries.from_name(name)
    except countries.UnknownCountry as exc:
        raise RowError("country", str(exc)) from None
    admin1 = f.text(row, "admin1", 120)
    event_type, sub_type = _event_type(row, "event_type", "sub_event_type", False)
    disorder = f.text(row, "disorder_type")
    # The file has no id per row (ID names the admin1 area): a row is its week, area and types.
    area = f.text(row, "id") or f"{country}/{admin1 or ''}"
    source_id = "|".join([week.isoformat(), area, event_type, sub_type or "", disorder or ""])
    if len(source_id) > 200:
        raise RowError("id", "week, ID, event and sub-event types together are longer than "
                             "200 characters")
    extra = _extra(row, "region", "disorder_type", "id")
    if (exposure := f.integer(row, "population_exposure")) is not None:
        extra["population_exposure"] = exposure
    return {
        "source_id": source_id, "period": "week", "date": week, "country": country,
        "admin1": admin1, "location": None,
        "latitude": f.latitude(row, "centroid_latitude"),
        "longitude": f.longitude(row, "centroid_longitude"),
        "event_type": event_type, "sub_type": sub_type, "actor1": None, "actor2": None,
        "fatalities": f.integer(row, "fatalities", required=True),
        "events": f.integer(row, "events", required=True, minimum=1), "notes": None,
        "extra": extra or None,
    }


UCDP_TYPES = {"1": "State-based conflict", "2": "Non-state conflict", "3": "One-sided violence"}


def parse_ucdp(row: Row) -> dict[str, Any]:
    violence = f.one_of(row, "type_of_violence", UCDP_TYPES)
    assert violence is not None
    start = f.required(row, "date_start")
    # GED writes "2009-02-20T00:00:00" (CSV), "2009-02-20 00:00:00.000" or a plain date
    when = f.day({"date_start": start[:10]}, "date_start", ("%Y-%m-%d",))
    code, name = f.text(row, "country_id"), f.text(row, "country")
    try:
        country = (countries.from_gw(code, name) if code else
                   countries.from_name(f.required(row, "country")))
    except countries.UnknownCountry as exc:
        raise RowError("country_id" if code else "country", str(exc)) from None
    extra = _extra(row, "conflict_name", "dyad_name", "date_end", "date_prec", "where_prec",
                   "event_clarity", "deaths_a", "deaths_b", "deaths_civilians",
                   "deaths_unknown", "high", "low", "region", "adm_2", "relid")
    extra["type_of_violence"] = int(violence)
    if (adm_1 := f.text(row, "adm_1", 120)) != places.plain_ucdp(adm_1):
        extra["adm_1"] = adm_1  # as UCDP wrote it ("Batken province")
    return {
        "source_id": f.required(row, "id", 200), "period": "day", "date": when,
        "country": country, "admin1": places.plain_ucdp(f.text(row, "adm_1", 120)),
        "location": f.text(row, "where_coordinates", 255),
        "latitude": f.latitude(row, "latitude"), "longitude": f.longitude(row, "longitude"),
        "event_type": UCDP_TYPES[violence], "sub_type": None,
        "actor1": f.text(row, "side_a"), "actor2": f.text(row, "side_b"),
        "fatalities": f.integer(row, "best", required=True), "events": 1,
        "notes": f.text(row, "where_description"), "extra": extra,
    }


# GDELT 2.0's 61 columns as its documentation names them (errors name them so).
_GDELT2_NAMES = (
    "GLOBALEVENTID SQLDATE MonthYear Year FractionDate Actor1Code Actor1Name Actor1CountryCode "
    "Actor1KnownGroupCode Actor1EthnicCode Actor1Religion1Code Actor1Religion2Code "
    "Actor1Type1Code Actor1Type2Code Actor1Type3Code Actor2Code Actor2Name Actor2CountryCode "
    "Actor2KnownGroupCode Actor2EthnicCode Actor2Religion1Code Actor2Religion2Code "
    "Actor2Type1Code Actor2Type2Code Actor2Type3Code IsRootEvent EventCode EventBaseCode "
    "EventRootCode QuadClass GoldsteinScale NumMentions NumSources NumArticles AvgTone "
    "Actor1Geo_Type Actor1Geo_FullName Actor1Geo_CountryCode Actor1Geo_ADM1Code "
    "Actor1Geo_ADM2Code Actor1Geo_Lat Actor1Geo_Long Actor1Geo_FeatureID Actor2Geo_Type "
    "Actor2Geo_FullName Actor2Geo_CountryCode Actor2Geo_ADM1Code Actor2Geo_ADM2Code "
    "Actor2Geo_Lat Actor2Geo_Long Actor2Geo_FeatureID ActionGeo_Type ActionGeo_FullName "
    "ActionGeo_CountryCode ActionGeo_ADM1Code ActionGeo_ADM2Code ActionGeo_Lat ActionGeo_Long "
    "ActionGeo_FeatureID DATEADDED SOURCEURL")
GDELT2 = tuple(_GDELT2_NAMES.split())
GDELT1 = tuple(c for c in GDELT2 if not c.endswith("_ADM2Code"))  # 58 columns
CAMEO_ROOTS = {
    "01": "Make public statement", "02": "Appeal", "03": "Express intent to cooperate",
    "04": "Consult", "05": "Engage in diplomatic cooperation",
    "06": "Engage in material cooperation", "07": "Provide aid", "08": "Yield",
    "09": "Investigate", "10": "Demand", "11": "Disapprove", "12": "Reject", "13": "Threaten",
    "14": "Protest", "15": "Exhibit force posture", "16": "Reduce relations", "17": "Coerce",
    "18": "Assault", "19": "Fight", "20": "Use unconventional mass violence",
}


def cameo_event_type(root: str, code: str) -> str:
    """CAMEO -> the ACLED event type it resembles, so indicators can read GDELT beside ACLED;
    the cooperative and verbal codes (01-13) keep their CAMEO name."""
    if root == "14":
        return "Riots" if code.startswith("145") else "Protests"
    if root in {"15", "16", "17"}:
        return "Strategic developments"
    if root == "18":  # 183: suicide, car or other non-military bombing
        return "Explosions/Remote violence" if code.startswith("183") else \
            "Violence against civilians"
    if root == "19":  # 194 artillery and tanks, 195 aerial weapons
        return "Explosions/Remote violence" if code[:3] in {"194", "195"} else "Battles"
    if root == "20":
        return "Violence against civilians"
    return CAMEO_ROOTS[root]


def parse_gdelt(row: Row) -> dict[str, Any]:
    source_id = f.required(row, "globaleventid", 200)
    if not source_id.isdigit():
        raise RowError("globaleventid", f"not a number: {source_id!r}")
    when = f.day(row, "sqldate", ("%Y%m%d",))
    root = f.required(row, "eventrootcode").zfill(2)
    if root not in CAMEO_ROOTS:
        raise RowError("eventrootcode", f"not a CAMEO root code (01-20): {root!r}")
    code = f.required(row, "eventcode")
    if not code.isdigit() or not code.zfill(2).startswith(root):
        raise RowError("eventcode", f"{code!r} is not a code under CAMEO root {root}")
    for prefix in ("actiongeo", "actor1geo", "actor2geo"):  # where it happened, else its actors
        fips = f.text(row, f"{prefix}_countrycode")
        if fips is not None and fips.upper() not in countries.FIPS_NOT_A_COUNTRY:
            try:
                country = countries.from_fips(fips)
            except countries.UnknownCountry as exc:
                raise RowError(f"{prefix}_countrycode", str(exc)) from None
            break
    else:
        # Common in GDELT (an event geocoded to no place, or to an ocean): not a bad row, but
        # nothing an indicator of a country could count.
        raise f.RowSkipped("placed in no country (ActionGeo and both actors' geography)")
    extra: dict[str, Any] = {"event_code": code, "event_root_code": root}
    full_name = f.text(row, f"{prefix}_fullname", 255)
    code_adm1 = f.text(row, f"{prefix}_adm1code", 120)
    if code_adm1 is not None:
        extra["adm1_code"] = code_adm1
    for column, read in (("quadclass", f.integer), ("nummentions", f.integer),
                         ("numarticles", f.integer)):
        if (number := read(row, column)) is not None:
            extra[column] = number
    for column, low, high in (("goldsteinscale", -10.0, 10.0), ("avgtone", -100.0, 100.0)):
        if (value := f.real(row, column, low, high)) is not None:
            extra[column] = value
    return {
        "source_id": source_id, "period": "day", "date": when, "country": country,
        # the province's name, as ACLED's and UCDP's rows give it, else GDELT's ADM1 code
        # (a country-level place has its country's two letters there: no province)
        "admin1": places.gdelt_admin1(full_name, f.text(row, f"{prefix}_type"))
        or (code_adm1 if code_adm1 and len(code_adm1) > 2 else None),
        "location": full_name,
        "latitude": f.latitude(row, f"{prefix}_lat"),
        "longitude": f.longitude(row, f"{prefix}_long"),
        "event_type": cameo_event_type(root, code), "sub_type": CAMEO_ROOTS[root],
        "actor1": f.text(row, "actor1name"), "actor2": f.text(row, "actor2name"),
        "fatalities": None, "events": 1, "notes": f.text(row, "sourceurl"), "extra": extra,
    }


FORMATS = {
    "acled": Format("acled", parse_acled, (
        ("event_id_cnty", "data_id"), ("event_date",), ("event_type",), ("sub_event_type",),
        ("iso3", "iso", "country"), ("fatalities",))),
    "acled-weekly": Format("acled-weekly", parse_acled_weekly, (
        ("week",), ("country",), ("admin1",), ("event_type",), ("sub_event_type",),
        ("events",), ("fatalities",))),
    "ucdp-ged": Format("ucdp-ged", parse_ucdp, (
        ("id",), ("type_of_violence",), ("country_id", "country"), ("date_start",),
        ("best",))),
    "gdelt": Format("gdelt", parse_gdelt, (), delimiter="\t", header=False,
                    columns={61: GDELT2, 58: GDELT1}),
}
