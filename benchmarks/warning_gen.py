"""The generated ACLED-format event store of the early-warning benchmark (warning_bench.py).

Deterministic for a seed. A global ACLED-like mix: 45 countries, 8 to 14 admin1 provinces each,
ACLED's event types in roughly ACLED's global proportions (protests 40 %, battles 15 %,
explosions 14 %, violence against civilians 12 %, riots 10 %, strategic developments 9 %) with
their sub-event types; actors from a per-country pool (state forces named as ACLED names them,
"Military Forces of Kyrgyzstan (2021-)", border guards, police, rebels, protesters, rioters);
20 locations per province. The C5 countries' provinces carry 30 % of all events, so that the
indicators restricted to KGZ, TJK and UZB have a large share to read. Dates are spread over
`years` years of days ending on 2025-12-31, with 8 % of events in bursts (one province and
week each), so the detectors fire. Markings: 85 % green (an ACLED import), 10 % clear, 4 %
amber and 1 % amber+strict (field reports of KAZ-SC).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np

C5 = ("KAZ", "KGZ", "TJK", "UZB", "TKM")
OTHERS = ("AFG", "PAK", "IND", "BGD", "MMR", "THA", "PHL", "IDN", "CHN", "MNG", "IRN", "IRQ",
          "SYR", "TUR", "YEM", "SAU", "EGY", "LBY", "SDN", "ETH", "SOM", "KEN", "NGA", "MLI",
          "BFA", "NER", "COD", "CAF", "CMR", "MOZ", "ZAF", "UKR", "RUS", "GEO", "ARM", "AZE",
          "MEX", "COL", "BRA")
C5_NAMES = {"KAZ": "Kazakhstan", "KGZ": "Kyrgyzstan", "TJK": "Tajikistan",
            "UZB": "Uzbekistan", "TKM": "Turkmenistan"}
TYPES = {  # event type: (global share, sub-event types)
    "Protests": (0.40, ("Peaceful protest", "Protest with intervention",
                        "Excessive force against protesters")),
    "Battles": (0.15, ("Armed clash", "Government regains territory",
                       "Non-state actor overtakes territory")),
    "Explosions/Remote violence": (0.14, ("Shelling/artillery/missile attack", "Air/drone strike",
                                          "Remote explosive/landmine/IED", "Grenade")),
    "Violence against civilians": (0.12, ("Attack", "Abduction/forced disappearance",
                                          "Sexual violence")),
    "Riots": (0.10, ("Violent demonstration", "Mob violence")),
    "Strategic developments": (0.09, ("Arrests", "Looting/property destruction",
                                      "Headquarters or base established",
                                      "Disrupted weapons use",
                                      "Non-violent transfer of territory", "Other")),
}
C5_SHARE = 0.30
BURST_SHARE = 0.08
LAST_DAY = date(2025, 12, 31)


def _actors(country: str) -> list[str]:
    name = C5_NAMES.get(country, country.title())
    return [f"Military Forces of {name} (2000-)", f"Police Forces of {name} (2000-)",
            f"Border Guard Service of {name}", f"Protesters ({name})", f"Rioters ({name})",
            f"Civilians ({name})", f"Unidentified Armed Group ({name})",
            f"Rebel Group of {name}", f"Labour Group ({name})", ""]


def generate(n: int, years: int = 8, seed: int = 20251231, first_id: int = 0,
             owners: tuple[int, int] = (1, 2), imported_at: str = "2026-01-01 00:00:00",
             only: tuple[str, ...] | None = None) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of the events table in chunks of up to 250,000: (id, source, source_id, period,
    date, country, admin1, location, event_type, sub_type, actor1, actor2, fatalities, events,
    owner_org_id, tlp, digest, imported_at). `owners`: the ids of C5-SEC and of KAZ-SC (owner
    of the field reports). `only`: events in these countries alone (same provinces)."""
    rng = np.random.default_rng(seed)
    countries = list(C5) + list(OTHERS)
    provinces: list[tuple[str, str]] = []
    weights: list[float] = []
    for c in countries:
        k = int(rng.integers(8, 15))
        share = (C5_SHARE / len(C5)) if c in C5 else (1 - C5_SHARE) / len(OTHERS)
        w = rng.dirichlet(np.ones(k) * 2)
        provinces += [(c, f"{c} Province {i}") for i in range(k)]
        weights += list(w * share)
    if only is not None:
        weights = [w if c in only else 0.0 for (c, _), w in zip(provinces, weights, strict=True)]
    p_w = np.array(weights) / sum(weights)
    types = list(TYPES)
    t_w = np.array([TYPES[t][0] for t in types])
    first = LAST_DAY.toordinal() - years * 365
    days = years * 365 + 1
    actor_pool = {c: _actors(c) for c in countries}
    start = 0
    while start < n:
        m = min(250_000, n - start)
        prov = rng.choice(len(provinces), size=m, p=p_w)
        day = first + rng.integers(0, days, size=m)
        burst = rng.random(m) < BURST_SHARE
        # a burst: 40 episodes a year, each in one province and one week
        episodes = years * 40
        ep_prov = rng.choice(len(provinces), size=episodes, p=p_w)
        ep_day = first + rng.integers(0, days - 7, size=episodes)
        pick = rng.integers(0, episodes, size=int(burst.sum()))
        prov[burst] = ep_prov[pick]
        day[burst] = ep_day[pick] + rng.integers(0, 7, size=pick.size)
        etype = rng.choice(len(types), size=m, p=t_w)
        sub = rng.random(m)
        loc = rng.integers(0, 20, size=m)
        a1 = rng.integers(0, 9, size=m)
        a2 = rng.integers(0, 10, size=m)
        fat = np.where(rng.random(m) < 0.3, rng.geometric(0.3, size=m), 0)
        tlp_draw = rng.random(m)
        chunk: list[tuple[Any, ...]] = []
        for j in range(m):
            i = start + j
            country, admin1 = provinces[prov[j]]
            et = types[etype[j]]
            subs = TYPES[et][1]
            tlp = ("green" if tlp_draw[j] < 0.85 else "clear" if tlp_draw[j] < 0.95
                   else "amber" if tlp_draw[j] < 0.99 else "amber+strict")
            pool = actor_pool[country]
            chunk.append((first_id + i + 1, "acled" if tlp in ("green", "clear") else "report",
                         f"B{first_id + i + 1}", "day",
                         date.fromordinal(int(day[j])).isoformat(), country, admin1,
                         f"{admin1} town {loc[j]}", et, subs[int(sub[j] * len(subs))],
                         pool[a1[j]], pool[a2[j]] or None,
                         int(fat[j]) if et != "Protests" else 0, 1,
                         owners[0] if tlp in ("green", "clear") else owners[1], tlp,
                         "0" * 32, imported_at))
        start += m
        yield chunk


COLUMNS = ("id", "source", "source_id", "period", "date", "country", "admin1", "location",
           "event_type", "sub_type", "actor1", "actor2", "fatalities", "events",
           "owner_org_id", "tlp", "digest", "imported_at")
