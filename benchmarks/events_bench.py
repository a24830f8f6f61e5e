"""Event ingest (issue 11): `riskatlas events import --format acled` of a generated ACLED file
beside DuckDB's own `read_csv` of the same file into a table, in the same run.

    .venv/bin/python benchmarks/events_bench.py                      # 2,500,000 events, SQLite
    .venv/bin/python benchmarks/events_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    # options: --events N (default 2,500,000) --seed N --keep-file

The file (31 columns, the current ACLED export header) is generated once and cached in
benchmarks/results/cache/. Each measurement runs in its own child process, so that its peak
resident memory (ru_maxrss, DuckDB's included) is its own:
1. baseline: `CREATE TABLE t AS SELECT * FROM read_csv(file, header=true)` in a DuckDB file
   database, timed from connect to close;
2. import: `service.import_events` in one `Runtime.transaction()`, exactly as `riskatlas events
   import` runs it (validation, digest, upsert, audit entry, commit), into a fresh migrated and
   seeded database (SQLite in a temporary folder, or a new database on the `--db` server);
3. re-import of the same file into the same database (it must touch nothing).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synth  # noqa: E402

HEADER = (
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2",
    "admin3", "location", "latitude", "longitude", "geo_precision", "source", "source_scale",
    "notes", "fatalities", "tags", "timestamp"
)
# (ISO3, ISO numeric, ACLED's name, region, admin1 names, rough centre)
COUNTRIES = (
    ("KAZ", 398, "Kazakhstan", "Caucasus and Central Asia", ("Almaty", "Astana", "Mangystau",
                                                            "Zhambyl", "Turkistan"), (48, 67)),
    ("KGZ", 417, "Kyrgyzstan", "Caucasus and Central Asia", ("Batken", "Osh", "Chuy",
                                                            "Jalal-Abad", "Naryn"), (41, 74)),
    ("TJK", 762, "Tajikistan", "Caucasus and Central Asia", ("Sughd", "Khatlon", "Dushanbe",
                                                            "Gorno-Badakhshan"), (38.5, 71)),
    ("TKM", 795, "Turkmenistan", "Caucasus and Central Asia", ("Ahal", "Balkan", "Lebap",
                                                              "Mary", "Dashoguz"), (39, 59)),
    ("UZB", 860, "Uzbekistan", "Caucasus and Central Asia", ("Tashkent", "Fergana",
                                                            "Samarkand", "Karakalpakstan",
                                                            "Andijan"), (41, 64)),
    ("AFG", 4, "Afghanistan", "Middle East", ("Kabul", "Kandahar", "Balkh", "Herat",
                                              "Nangarhar", "Badakhshan"), (34, 66)),
    ("UKR", 804, "Ukraine", "Europe", ("Donetsk", "Kharkiv", "Kyiv City", "Zaporizhia",
                                      "Kherson", "Luhansk"), (48.5, 35)),
    ("RUS", 643, "Russia", "Europe", ("Belgorod", "Kursk", "Moscow", "Dagestan",
                                     "Chechnya"), (52, 40)),
    ("SYR", 760, "Syria", "Middle East", ("Idleb", "Aleppo", "Deir ez Zor", "Damascus",
                                         "Dar'a"), (35, 38)),
    ("YEM", 887, "Yemen", "Middle East", ("Taizz", "Marib", "Al Hudaydah", "Sanaa"),
     (15, 45)),
    ("COD", 180, "Democratic Republic of Congo", "Middle Africa", ("Nord-Kivu", "Ituri",
                                                                   "Sud-Kivu", "Kinshasa"),
     (-1, 28)),
    ("NGA", 566, "Nigeria", "Western Africa", ("Borno", "Zamfara", "Kaduna", "Lagos",
                                              "Benue"), (9, 8)),
    ("MEX", 484, "Mexico", "Central America", ("Guerrero", "Michoacan", "Jalisco",
                                              "Guanajuato", "Sonora"), (21, -101)),
    ("IND", 356, "India", "South Asia", ("Manipur", "Jammu and Kashmir", "Punjab",
                                        "Uttar Pradesh", "West Bengal"), (23, 80)),
    ("PAK", 586, "Pakistan", "South Asia", ("Khyber Pakhtunkhwa", "Balochistan", "Punjab",
                                           "Sindh"), (30, 70)),
    ("MMR", 104, "Myanmar", "Southeast Asia", ("Sagaing", "Shan-North", "Rakhine", "Kachin",
                                              "Magway"), (21, 96)),
    ("BRA", 76, "Brazil", "South America", ("Rio de Janeiro", "Sao Paulo", "Bahia", "Para"),
     (-12, -50)),
    ("SDN", 729, "Sudan", "Northern Africa", ("Khartoum", "North Darfur", "South Darfur",
                                             "Al Jazirah"), (14, 30)),
)
TYPES = {
    "Battles": ("Political violence", ("Armed clash", "Government regains territory",
                                       "Non-state actor overtakes territory")),
    "Explosions/Remote violence": ("Political violence", (
        "Air/drone strike", "Shelling/artillery/missile attack", "Remote explosive/landmine/IED",
        "Grenade", "Suicide bomb")),
    "Violence against civilians": ("Political violence", ("Attack", "Sexual violence",
                                                          "Abduction/forced disappearance")),
    "Protests": ("Demonstrations", ("Peaceful protest", "Protest with intervention",
                                    "Excessive force against protesters")),
    "Riots": ("Demonstrations", ("Violent demonstration", "Mob violence")),
    "Strategic developments": ("Strategic developments", (
        "Arrests", "Agreement", "Change to group/activity", "Looting/property destruction",
        "Other")),
}
ACTORS = ("Military Forces of {c}", "Police Forces of {c}", "Rioters ({c})",
          "Protesters ({c})", "Civilians ({c})", "Unidentified Armed Group ({c})",
          "Rebel Group of {a}", "Militia ({a})")
SOURCES = ("AKIpress", "24.kg; Kloop", "Reuters", "Associated Press; AFP", "Local Source",
           "Radio Azattyk", "Twitter", "BBC News", "Al Jazeera; Anadolu Agency")
WORDS = ("on", "the", "border", "clash", "forces", "reported", "near", "village", "district",
         "killed", "injured", "protest", "against", "government", "police", "arrested",
         "members", "group", "water", "dispute", "shelling", "town", "civilians", "attack")


def generate(path: Path, events: int, seed: int) -> None:
    """A deterministic ACLED export: global countries and admin1s, days over 2018-2025, a
    quarter of the notes quoted (commas), one in 50 spanning two lines."""
    rnd = random.Random(seed)
    start, days = date(2018, 1, 1), (date(2025, 12, 31) - date(2018, 1, 1)).days
    day_text = [(start + timedelta(d)).isoformat() for d in range(days + 1)]
    counters = {c[0]: 0 for c in COUNTRIES}
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for _ in range(events):
            iso3, numeric, name, region, admin1s, (lat, lon) = rnd.choice(COUNTRIES)
            counters[iso3] += 1
            event_type = rnd.choice(tuple(TYPES))
            disorder, subs = TYPES[event_type]
            admin1 = rnd.choice(admin1s)
            inter1 = rnd.randint(1, 8)
            inter2 = rnd.choice((0, 0, 1, 2, 3, 7, 8))
            words = rnd.choices(WORDS, k=rnd.randint(8, 30))
            notes = " ".join(words).capitalize() + "."
            if rnd.random() < 0.25:
                notes = f"On {rnd.randint(1, 28)} May, {notes} Casualties: {rnd.randint(0, 9)}, " \
                        "unconfirmed."
            if rnd.random() < 0.02:
                notes += "\nUpdate: figures revised."
            day = rnd.choice(day_text)
            actor1 = rnd.choice(ACTORS).format(c=name, a=admin1)
            actor2 = rnd.choice(ACTORS).format(c=name, a=admin1) if inter2 else ""
            writer.writerow((
                f"{iso3}{counters[iso3]}", day, day[:4], rnd.choice("1112"), disorder,
                event_type, rnd.choice(subs), actor1, "", inter1, actor2, "",
                inter2 or "", f"{inter1}{inter2}",
                "Civilian targeting" if event_type == "Violence against civilians" else "",
                numeric, region, name, admin1, f"{admin1} district {rnd.randint(1, 9)}", "",
                f"{admin1} settlement {rnd.randint(1, 400)}",
                f"{lat + rnd.uniform(-3, 3):.4f}", f"{lon + rnd.uniform(-3, 3):.4f}",
                rnd.choice("1112"), rnd.choice(SOURCES),
                rnd.choice(("National", "Subnational", "International", "Local partner-National")),
                notes, rnd.choice((0, 0, 0, 1, 2, 3, 5, 12)), "", 1_600_000_000 + rnd.randint(0,
                                                                              10**8)))


# Each measurement is a child process: its own ru_maxrss (RUSAGE_SELF, DuckDB's threads and
# allocations included), printed as JSON on the last line of its stdout.
DUCKDB = """
import json, resource, sys, time
import duckdb
t0 = time.perf_counter()
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, header=true)", [sys.argv[1]])
rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
con.close()
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "rows": rows,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
IMPORT = """
import json, resource, sys, time
from pathlib import Path
from riskatlas.audit.service import Who
from riskatlas.runtime import make_runtime
from riskatlas.warning import service
runtime = make_runtime(sys.argv[1])
t0 = time.perf_counter()
with runtime.transaction() as session:
    result = service.import_events(session, Path(sys.argv[2]), "acled", Who("bench"))
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "summary": result.summary(), "added": result.added,
                  "updated": result.updated, "unchanged": result.unchanged,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, check=False, cwd=synth.ROOT)
    if done.returncode != 0:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_500_000)
    parser.add_argument("--db", help="a PostgreSQL server URL (default: a SQLite file)")
    parser.add_argument("--seed", type=int, default=synth.SEED)
    args = parser.parse_args()

    cache = synth.RESULTS / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"acled-{args.events}-{args.seed}.csv"
    if not path.exists():
        with synth.step(f"generating {args.events:,} ACLED events"):
            generate(path.with_suffix(".tmp"), args.events, args.seed)
            path.with_suffix(".tmp").rename(path)
    size_mb = path.stat().st_size / 1e6
    synth.log(f"file {path} ({size_mb:.0f} MB)")

    with tempfile.TemporaryDirectory(prefix="riskatlas-bench-") as tmp:
        with synth.step("baseline: DuckDB read_csv into a table"):
            duck = child(DUCKDB, str(path), str(Path(tmp) / "baseline.duckdb"))
        synth.log(f"baseline: {duck}")
        db = synth.Database(args.db, "ingest", Path(tmp) if args.db is None else None)
        try:
            with synth.step("import"):
                first = child(IMPORT, db.url, str(path))
            synth.log(f"import: {first}")
            with synth.step("re-import"):
                again = child(IMPORT, db.url, str(path))
            synth.log(f"re-import: {again}")
        finally:
            db.close()

    ratio = first["seconds"] / duck["seconds"]
    rows = [("figure", "seconds", "x DuckDB", "peak RSS MB", "result"),
            ("DuckDB read_csv -> table", f"{duck['seconds']:.2f}", "1.00",
             f"{duck['max_rss_mb']:.0f}", f"{duck['rows']:,} rows"),
            ("events import", f"{first['seconds']:.2f}", f"{ratio:.2f}",
             f"{first['max_rss_mb']:.0f}", first["summary"]),
            ("re-import", f"{again['seconds']:.2f}", f"{again['seconds'] / duck['seconds']:.2f}",
             f"{again['max_rss_mb']:.0f}", again["summary"])]
    print(f"{args.events:,} ACLED events, {size_mb:.0f} MB, {db.dialect}")
    print("\n".join(synth.text_table(rows)))
    met = ratio <= 3 and first["max_rss_mb"] <= 2048 and again["max_rss_mb"] <= 2048
    print(f"target (import <= 3x DuckDB, peak RSS <= 2 GB): {'met' if met else 'NOT met'}")
    synth.write_results(f"events-{db.dialect}", {
        "machine": synth.machine(), "events": args.events, "file_mb": size_mb,
        "engine": db.dialect, "duckdb": duck, "import": first, "reimport": again,
        "ratio": ratio, "met": met})


if __name__ == "__main__":
    main()
