"""First-level units (admin1) named alike across the sources, and compared by a key.

The sources name one province differently: ACLED and most lists of episodes write "Batken",
UCDP GED "Batken province" (its adm_1 always carries the unit's kind), GDELT a FIPS code
("KG01") beside a full name ("Osh, Osh, Kyrgyzstan"). Stored names are the sources' own, but
for UCDP the kind is taken off (`plain_ucdp`), and GDELT's name is read from its full name
(`gdelt_admin1`), so that an indicator's series for a province is one series whichever source
fed it. Comparisons (an indicator's admin1 filter, an episode's province) go through `key`,
which also forgives case, accents, hyphens and a kind word ("Sughd" = "Sughd Region" =
"sughd"). Written by hand: no package maps these spellings, and the rules are few.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# The kinds of unit UCDP GED appends to adm_1 (one, last), and that lists may add in English
# or in the region's own words.
KINDS = frozenset({"province", "region", "oblast", "oblys", "viloyati", "viloyat", "velayat",
                   "welayat", "state", "governorate", "prefecture", "department", "district",
                   "municipality", "county", "republic", "autonomous", "city", "of", "the"})
_UCDP_KIND = re.compile(r"\s+(province|region|state|governorate|prefecture|department|"
                        r"district|municipality|county|oblast)$", re.IGNORECASE)
_AUTONOMOUS = re.compile(r"\s+autonomous(\s+republic)?$", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")


def plain_ucdp(name: str | None) -> str | None:
    """UCDP's adm_1 without the kind it appends: "Batken province" -> "Batken",
    "Gorno-Badakhshan Autonomous province" -> "Gorno-Badakhshan", "Karakalpakstan autonomous
    republic" -> "Karakalpakstan". Only the one last word UCDP
    adds is taken off ("Free State province" -> "Free State"); a city keeps its "city" (Osh
    city is not Osh province)."""
    if not name:
        return name
    plain = _UCDP_KIND.sub("", name)
    plain = _AUTONOMOUS.sub("", plain)
    return plain or name


def gdelt_admin1(full_name: str | None, geo_type: str | None) -> str | None:
    """The admin1 name in GDELT's `*Geo_FullName`: "Osh, Osh, Kyrgyzstan" (a city, type 3 or
    4) and "Osh, Kyrgyzstan" (a first-level unit, type 2 or 5) both give "Osh"; a country
    (type 1) gives None."""
    if not full_name or geo_type not in {"2", "3", "4", "5"}:
        return None
    parts = [p.strip() for p in full_name.split(",")]
    if len(parts) < 2:
        return None
    name = parts[-2]
    return name if 0 < len(name) <= 120 else None  # 120: the stored admin1's length


@lru_cache(maxsize=4096)
def key(name: str | None) -> str:
    """A name as compared: case, accents, punctuation and kind words set aside
    ("Ysyk-Köl oblast" -> "ysykkol"); a name of kind words alone keeps them."""
    if not name:
        return ""
    folded = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = _WORD.findall(bare)
    kept = [w for w in words if w not in KINDS] or words
    return "".join(kept)
