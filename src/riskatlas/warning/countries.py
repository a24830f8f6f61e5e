"""Country codes of the event sources, all mapped to ISO 3166-1 alpha-3.

pycountry answers ISO3, ISO numeric and most English names. The sources also use codes it
does not know, kept here as small tables (from docs/events.md): Gleditsch-Ward numbers (UCDP
GED `country_id`), FIPS 10-4 (GDELT `*Geo_CountryCode`) and the names ACLED and UCDP spell
their own way. Each answer is cached: a file names few countries over millions of rows.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# Gleditsch-Ward state numbers: Central Asia, its neighbours and the partners of the grouping.
# Other codes fall back to the row's country name.
GW = {
    701: "TKM", 702: "TJK", 703: "KGZ", 704: "UZB", 705: "KAZ", 700: "AFG", 710: "CHN",
    365: "RUS", 630: "IRN", 770: "PAK", 750: "IND", 371: "ARM", 372: "GEO", 373: "AZE",
    640: "TUR", 670: "SAU", 690: "KWT", 692: "BHR", 694: "QAT", 696: "ARE", 698: "OMN",
    712: "MNG", 2: "USA", 200: "GBR", 482: "CAF", 645: "IRQ", 652: "SYR", 679: "YEM",
}

# FIPS 10-4 codes (GDELT geography). Many differ from ISO alpha-2 (TI is Tajikistan, not
# ISO's TJ; AU is Austria, not Australia), so an unknown code is an error, never a guess.
FIPS = {
    "KZ": "KAZ", "KG": "KGZ", "TI": "TJK", "TX": "TKM", "UZ": "UZB", "AF": "AFG", "CH": "CHN",
    "RS": "RUS", "IR": "IRN", "PK": "PAK", "IN": "IND", "AM": "ARM", "GG": "GEO", "AJ": "AZE",
    "TU": "TUR", "SA": "SAU", "KU": "KWT", "BA": "BHR", "QA": "QAT", "AE": "ARE", "MU": "OMN",
    "MG": "MNG", "US": "USA", "UK": "GBR", "IZ": "IRQ", "SY": "SYR", "YM": "YEM", "UP": "UKR",
    "BO": "BLR", "GM": "DEU", "FR": "FRA", "IS": "ISR", "JO": "JOR", "LE": "LBN", "EG": "EGY",
    "BG": "BGD", "NP": "NPL", "JA": "JPN", "KS": "KOR", "KN": "PRK", "CT": "CAF", "SU": "SDN",
}

# Names pycountry does not know, as ACLED and UCDP write them (UCDP's former names in
# brackets, "Russia (Soviet Union)", are dropped before the look-up).
NAMES = {
    "russia": "RUS", "turkey": "TUR", "kosovo": "XKX", "ivory coast": "CIV",
    "democratic republic of congo": "COD", "dr congo": "COD", "republic of congo": "COG",
    "congo": "COG", "palestine": "PSE", "micronesia": "FSM", "cape verde": "CPV",
    "swaziland": "SWZ", "macedonia": "MKD", "east timor": "TLS", "burma": "MMR",
    "north korea": "PRK", "bosnia-herzegovina": "BIH", "vatican city": "VAT",
    "yemen (north yemen)": "YEM", "serbia (yugoslavia)": "SRB", "cambodia (kampuchea)": "KHM",
}
ISO_EXTRA = {"XKX": "XKX"}  # Kosovo: a user-assigned code ACLED uses, not in ISO 3166
NUMERIC_EXTRA = {"0": "XKX"}  # ACLED gives Kosovo the ISO numeric 0

_BRACKETS = re.compile(r"\s*\(.*\)\s*$")


class UnknownCountry(ValueError):
    pass


@lru_cache(maxsize=4096)
def from_name(name: str) -> str:
    """An English country name (ACLED, UCDP) -> ISO3."""
    text = " ".join(name.split())
    for candidate in (text, _BRACKETS.sub("", text)):
        if not candidate:
            continue
        if candidate.lower() in NAMES:
            return NAMES[candidate.lower()]
        try:
            return str(pycountry.countries.lookup(candidate).alpha_3)
        except LookupError:
            continue
    raise UnknownCountry(f"unknown country name {name!r}")


@lru_cache(maxsize=1024)
def from_iso3(code: str) -> str:
    code = code.strip().upper()
    if code in ISO_EXTRA or pycountry.countries.get(alpha_3=code) is not None:
        return code
    raise UnknownCountry(f"unknown ISO 3166-1 alpha-3 code {code!r}")


@lru_cache(maxsize=1024)
def from_numeric(code: str) -> str:
    text = code.strip()
    if text in NUMERIC_EXTRA:
        return NUMERIC_EXTRA[text]
    if not text.isdigit():
        raise UnknownCountry(f"not an ISO 3166-1 numeric code: {code!r}")
    found = pycountry.countries.get(numeric=text.zfill(3))
    if found is None:
        raise UnknownCountry(f"unknown ISO 3166-1 numeric code {code!r}")
    return str(found.alpha_3)


def from_fips(code: str) -> str:
    try:
        return FIPS[code.strip().upper()]
    except KeyError:
        raise UnknownCountry(f"FIPS 10-4 code {code!r} is not in the table of "
                             "riskatlas.warning.countries.FIPS") from None


def from_gw(code: str, name: str | None = None) -> str:
    """A Gleditsch-Ward number (UCDP `country_id`) -> ISO3; a code outside the table falls
    back to the country name given beside it."""
    text = code.strip()
    if text.isdigit() and int(text) in GW:
        return GW[int(text)]
    if name:
        return from_name(name)
    raise UnknownCountry(f"Gleditsch-Ward code {code!r} is not in the table and no country "
                         "name was given")
