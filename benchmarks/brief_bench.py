"""Briefing pack benchmark (issue 13): a meeting's pack of the 10,000-risk synthetic catalog as
PDF, beside the same pack as HTML alone, in the same run.

    .venv/bin/python benchmarks/brief_bench.py                 # SQLite (the cached import)
    .venv/bin/python benchmarks/brief_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres

The catalog is the one of api_load.py (synth.py: 10,000 risks, 30,000 measures, imported through
the real import; SQLite: the cached database, copied; PostgreSQL: a fresh database created on the
server of --db, dropped at the end). On top of it, through the product's services: the import's
versions dated before the previous meeting, then --edits risk and measure edits (the changes
between the meetings), a previous meeting and the meeting, --proposals open change proposals
with positions of the five member states, and alerts from a small generated event store
(warning_gen.py, C5 only, dated up to a few days ago; alerts.run with the default indicators).

Timed, median and min of --runs, English and Russian interleaved, as `riskatlas meetings brief`
without --as (a member state's viewer): (a) gather alone, (b) render.html alone, (c) render.pdf
alone, the whole HTML pack (gather + html) and the whole PDF pack (gather + html + pdf). Target:
the PDF pack within 10 s. The last PDFs are written to benchmarks/results/brief-LANG.pdf.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402
import warning_gen  # noqa: E402
from api_load import prepare_postgresql, prepare_sqlite  # noqa: E402

TARGET = 10.0  # seconds, the PDF pack
TRENDS = ("rising", "stable", "falling", "unknown")
STANCES = ("endorse", "endorse", "object", "abstain", "reserve")


def _load(url: str, args: argparse.Namespace, today: date) -> dict[str, Any]:
    """Meetings, changes, proposals with positions and alerts, through the services."""
    from sqlalchemy import select, text, update

    from riskatlas.audit.service import Who
    from riskatlas.catalog import edits
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.catalog.models import Measure, Risk, Version
    from riskatlas.cli_options import operator_scope
    from riskatlas.governance import meetings, proposals
    from riskatlas.parties.models import Organisation
    from riskatlas.runtime import make_runtime
    from riskatlas.warning import alerts
    from riskatlas.warning.indicators import default_indicator_file, load_indicators

    rt = make_runtime(url)
    matrix = active_matrix(rt.settings)
    scope = operator_scope()
    who = Who("bench")
    previous_day, meeting_day = today - timedelta(days=35), today + timedelta(days=7)
    out: dict[str, Any] = {"previous": previous_day.isoformat(),
                           "meeting": meeting_day.isoformat()}
    with (synth.step("Dating the import's versions before the previous meeting"),
          rt.transaction() as session):
        session.execute(update(Version).values(
            changed_at=datetime.combine(previous_day - timedelta(days=60),
                                        datetime.min.time(), tzinfo=UTC)))
    with synth.step(f"{args.edits} edits between the meetings (catalog.edits.edit)"):
        with rt.transaction() as session:
            risk_keys = list(session.scalars(select(Risk.key).order_by(Risk.key)))
            measure_keys = list(session.scalars(select(Measure.key).order_by(Measure.key)))
        step_r, step_m = len(risk_keys) // args.edits, len(measure_keys) // args.edits
        for i in range(args.edits):
            # two risks' trends, then a measure's progress, end and status: the measures
            # edited are in progress with an end date passed (the overdue section)
            entity, key = (("risks", risk_keys[i * step_r]) if i % 3 else
                           ("measures", measure_keys[i * step_m]))
            with rt.transaction() as session:
                record = edits.get(session, matrix, scope, entity, key)
                changes: dict[str, Any] = (
                    {"trend": TRENDS[(TRENDS.index(record["trend"]) + 1) % len(TRENDS)]}
                    if entity == "risks" else
                    {"progress": (int(record.get("progress") or 0) + 7) % 100,
                     "status": "in_progress", "end": (today - timedelta(days=5 + i)).isoformat()})
                edits.edit(session, matrix, scope, entity, key, changes, who)
    with synth.step(f"{args.proposals} open proposals with the member states' positions"):
        ids = []
        with rt.transaction() as session:
            states = proposals.members(session, proposals.grouping(session).code)
            for i in range(args.proposals):
                key = risk_keys[(i * 487 + 13) % len(risk_keys)]
                record = edits.get(session, matrix, scope, "risks", key)
                trend = TRENDS[(TRENDS.index(record["trend"]) + 2) % len(TRENDS)]
                made = proposals.create_proposal(
                    session, matrix, scope, None, who, kind="change", entity="risks", key=key,
                    changes={"trend": trend}, title=f"Reassess the trend of {key} as {trend}",
                    comment="Raised by the expert group", deadline=meeting_day + timedelta(30))
                ids.append(made["id"])
                for j, state in enumerate(states[: 1 + i % len(states)]):
                    proposals.record_position(session, scope, None, who, made["id"],
                                              STANCES[(i + j) % len(STANCES)],
                                              f"{state} position", state=state)
            meetings.add_meeting(session, who, kind="ministerial", date=previous_day,
                                 place="Bishkek", title="C5 ministerial meeting",
                                 participants=[f"{s}-SC" for s in states])
            out["meeting_id"] = meetings.add_meeting(
                session, who, kind="summit", date=meeting_day, place="Astana",
                title="C5 summit", participants=[f"{s}-SC" for s in states], agenda=ids)
    with synth.step(f"Alerts: {args.events:,} C5 events, alerts.run (default indicators)"):
        warning_gen.LAST_DAY = today - timedelta(days=3)
        with rt.transaction() as session:
            orgs = {k: i for k, i in session.execute(select(Organisation.key, Organisation.id))}
            first_id = int(session.scalar(text("SELECT coalesce(max(id), 0) FROM events")) or 0)
        cols = ", ".join(warning_gen.COLUMNS)
        for chunk in warning_gen.generate(args.events, years=2, first_id=first_id,
                                          owners=(orgs["C5-SEC"], orgs["KAZ-SC"]),
                                          only=warning_gen.C5):
            with rt.engine.begin() as conn:
                conn.execute(text(f"INSERT INTO events ({cols}) VALUES "
                                  f"({', '.join(':' + c for c in warning_gen.COLUMNS)})"),
                             [dict(zip(warning_gen.COLUMNS, row, strict=True)) for row in chunk])
        indicators = load_indicators(default_indicator_file())
        with rt.transaction() as session:
            result = alerts.run(session, scope, indicators, previous_day - timedelta(days=120),
                                warning_gen.LAST_DAY, who)
        out["alerts_run"] = str(result)
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.connect() as conn:  # autovacuum is off on the test server
            conn.execute(text("ANALYZE"))
            conn.commit()
    return out


def _pack(url: str, meeting_id: int, lang: str, fmt: str) -> tuple[dict[str, float], bytes]:
    """One pack as `riskatlas meetings brief` writes it, each stage timed."""
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.reports import briefing, render
    from riskatlas.runtime import make_runtime
    from riskatlas.sharing.policy import scope_for

    t: dict[str, float] = {}
    rt = make_runtime(url)
    t0 = time.perf_counter()
    with rt.transaction() as session:
        found = briefing.gather(session, active_matrix(rt.settings),
                                scope_for(briefing.MEMBER_VIEWER), meeting_id)
    t1 = time.perf_counter()
    document = render.html(found, lang)
    t2 = time.perf_counter()
    data = document.encode() if fmt == "html" else render.pdf(document)
    t3 = time.perf_counter()
    t.update(gather=t1 - t0, html=t2 - t1, total=t3 - t0)
    if fmt == "pdf":
        t["pdf"] = t3 - t2
    return t, data


def _pages(path: Path) -> int | None:
    try:
        info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                              text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return next((int(line.split()[1]) for line in info.splitlines()
                 if line.startswith("Pages:")), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="PostgreSQL server URL (a fresh database is created and "
                        "dropped on it); default: SQLite, a copy of the cached import")
    parser.add_argument("--risks", type=int, default=10_000)
    parser.add_argument("--measures", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=synth.SEED)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--edits", type=int, default=150)
    parser.add_argument("--proposals", type=int, default=20)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--catalog-db", type=Path, default=None)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    results: dict[str, Any] = {"machine": synth.machine(), "uptime_start": uptime,
                               "params": {k: str(v) for k, v in vars(args).items()}}
    today = datetime.now(UTC).date()
    with tempfile.TemporaryDirectory(prefix="riskatlas-brief-") as tmp:
        db = None
        if args.db is None:
            url = prepare_sqlite(args, Path(tmp))
        else:
            db, _ = prepare_postgresql(args)
            url = db.url
        results["dialect"] = "sqlite" if db is None else "postgresql"
        try:
            results["load"] = _load(url, args, today)
            meeting_id = results["load"]["meeting_id"]
            kinds = [(lang, fmt) for lang in ("en", "ru") for fmt in ("html", "pdf")]
            samples: dict[str, list[dict[str, float]]] = {f"{lg}-{f}": [] for lg, f in kinds}
            data: dict[str, bytes] = {}
            with synth.step("Warm-up: one pack of each"):
                for lang, fmt in kinds:
                    data[f"{lang}-{fmt}"] = _pack(url, meeting_id, lang, fmt)[1]
            for i in range(args.runs):
                with synth.step(f"Run {i + 1}/{args.runs}: en html, en pdf, ru html, ru pdf"):
                    for lang, fmt in kinds:
                        t, data[f"{lang}-{fmt}"] = _pack(url, meeting_id, lang, fmt)
                        samples[f"{lang}-{fmt}"].append(t)
        finally:
            if db is not None:
                db.close()
    results["uptime_end"] = subprocess.run(["uptime"], capture_output=True,
                                           text=True).stdout.strip()
    figures: dict[str, Any] = {}
    for name, runs in samples.items():
        figures[name] = {stage: {"median": statistics.median(r[stage] for r in runs),
                                 "min": min(r[stage] for r in runs),
                                 "samples": [r[stage] for r in runs]}
                         for stage in runs[0]}
        figures[name]["bytes"] = len(data[name])
    synth.RESULTS.mkdir(parents=True, exist_ok=True)
    for lang in ("en", "ru"):
        path = synth.RESULTS / f"brief-{results['dialect']}-{lang}.pdf"
        path.write_bytes(data[f"{lang}-pdf"])
        (synth.RESULTS / f"brief-{results['dialect']}-{lang}.html").write_bytes(
            data[f"{lang}-html"])
        figures[f"{lang}-pdf"]["pages"] = _pages(path)
        figures[f"{lang}-pdf"]["file"] = str(path.relative_to(synth.ROOT))
    results["figures"] = figures

    def cell(name: str, stage: str) -> str:
        f = figures[name][stage]
        return f"{f['median']:.3f} / {f['min']:.3f}"

    rows: list[tuple[str, ...]] = [("lang", "gather", "render.html", "render.pdf", "HTML pack",
                                    "PDF pack", "PDF/HTML", "pages", "target 10 s")]
    for lang in ("en", "ru"):
        h, p = figures[f"{lang}-html"], figures[f"{lang}-pdf"]
        ratio = p["total"]["median"] / h["total"]["median"]
        figures[f"{lang}-pdf"]["ratio_to_html"] = ratio
        rows.append((lang, cell(f"{lang}-pdf", "gather"), cell(f"{lang}-pdf", "html"),
                     cell(f"{lang}-pdf", "pdf"), cell(f"{lang}-html", "total"),
                     cell(f"{lang}-pdf", "total"), f"{ratio:.1f}x", str(p.get("pages")),
                     "met" if p["total"]["median"] <= TARGET else "NOT met"))
    print(f"\nRisk Atlas briefing pack ({results['dialect']}, {args.risks} risks, "
          f"{args.measures} measures, {results['machine']['cpus']} CPUs, "
          f"{results['machine']['date']}); seconds, median / min of {args.runs}\n")
    print("\n".join(synth.text_table(rows)))
    print(f"\nload: {results['load']}\nuptime at start: {uptime}\nuptime at end: "
          f"{results['uptime_end']}")
    out = synth.write_results(f"brief-{results['dialect']}", results)
    print(f"Results: {out.relative_to(synth.ROOT)}; PDFs: "
          f"{', '.join(figures[f'{lg}-pdf']['file'] for lg in ('en', 'ru'))}")


if __name__ == "__main__":
    main()
