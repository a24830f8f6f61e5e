"""SQLite and PostgreSQL find exactly the same records: the same catalog imported into both,
the same queries (English and Russian, inflected forms, phrases, OR, exclusions, prefixes,
record keys, other languages, hostile text) under the same scopes, the same totals and the same
hits. Ranks are the engines' own (bm25, ts_rank), so only the order may differ."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, select, text

from riskatlas.catalog.models import Measure, Risk
from riskatlas.config import Settings
from riskatlas.parties.models import Organisation, User
from riskatlas.parties.service import seed
from riskatlas.runtime import Runtime
from riskatlas.search.service import search
from riskatlas.sharing.policy import Principal, Scope, scope_for
from riskatlas.web.app import settle_warmers
from tests.helpers import load
from tests.search.test_bulk_index import _catalog
from tests.search.test_search import CATALOG

pytestmark = pytest.mark.postgres

QUERIES = [
    # English: inflected forms, phrases, OR, exclusions, prefixes
    "border", "borders", "Border", "BORDER clashes", "clash", "clashes", "border clash",
    '"border clashes"', '"clashes border"', '"incidents armed"', "water OR energy",
    "ransomware OR scarcity", "border -water", 'border -"water scarcity"', "bord*", "wat*",
    "ransom*", "ransom", "smuggl*", "smuggling", "smuggled", "dam", "dams", "flood OR harvest",
    "bank -water", "pressure", "pipeline refugees", '"water dam"', "cyber militants",
    "zebra", "note", "notes", '"zebra red"', "utilities", "utility", "war", "wa*",
    # Russian: cases and numbers, ё/е, phrases, prefixes
    "граница", "границе", "границы", "границ", "ГРАНИЦЫ", "пограничные", "пограничный",
    "погранич", "погранич*", "столкновения", "Столкновение", '"пограничные столкновения"',
    "беженцы", "беженцев", "ёлка", "елка", "вода -засуха", "граница OR урожай",
    "контрабанд*", "зебра", "зелёная", "зеленая", "вымогатели", "банк давление",
    # other languages, mixed scripts
    "шекара", "шекар*", "толқыны", "border граница", "банк bank",
    # record keys
    "CA-BRD-001", "CA-GEN-007", "ca-gen-007", "CA-GEN*", "CA-GMS-003", "GEN 007",
    # operators of the engines are words here
    "NEAR(border)", 'a -"b c" or d', "border*clashes", "x" * 100, "", "-border", "OR",
]


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _prepare(url: str, files: list[Path]) -> Runtime:
    runtime = Runtime(Settings(database_url=url))
    with runtime.transaction() as session:
        seed(session)
        uzb = session.scalar(select(Organisation.id).where(Organisation.key == "UZB-SC"))
        session.add(User(username="uzb-analyst", org_id=uzb, role="viewer"))
    load(url, *files)
    return runtime


@pytest.fixture
def engines(request: pytest.FixtureRequest, sqlite_template: Path,
            tmp_path: Path) -> dict[str, Runtime]:
    postgres = request.getfixturevalue("postgres_url")  # skipped without a server
    settle_warmers()  # as the db_url fixture does (tests/conftest.py)
    engine = create_engine(postgres)
    with engine.begin() as conn:  # empty it, as the db_url fixture does
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public' "
                                   "AND tablename <> 'alembic_version'")).scalars().all()
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                          + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    shutil.copy(sqlite_template, tmp_path / "same.db")
    files = [_write(tmp_path / "search.yaml", CATALOG),
             _write(tmp_path / "generated.yaml", _catalog(40, 30))]
    return {"sqlite": _prepare(f"sqlite:///{tmp_path / 'same.db'}", files),
            "postgresql": _prepare(postgres, files)}


def _principals(runtime: Runtime) -> list[Principal]:
    out = []
    with runtime.transaction() as session:
        orgs = dict(session.execute(select(Organisation.key, Organisation.id)).all())
        analyst = session.scalar(select(User.id).where(User.username == "uzb-analyst"))
    for org, standing, user in (("KGZ-SC", "member", None), ("SAU-GOV", "partner", None),
                                ("C5-SEC", "regional", None), ("KAZ-SC", "member", None),
                                ("UZB-SC", "member", "uzb-analyst")):
        out.append(Principal(user_id=analyst if user else 10_000, username=user or org,
                             org_id=orgs[org], org_key=org, role="viewer", standing=standing))
    return out


def _hits(runtime: Runtime, scope: Scope, entity: str, q: str,
          limit: int | None = None, offset: int = 0) -> tuple[int, list[str]]:
    model: Any = Risk if entity == "risk" else Measure
    with runtime.transaction() as session:
        keys = dict(session.execute(select(model.id, model.key)).all())
        total, hits = search(session, scope, q, entity, limit, offset)
    return total, [keys[rid] for rid, _ in hits]


def test_both_databases_find_the_same_records(engines: dict[str, Runtime]) -> None:
    principals = _principals(engines["sqlite"])
    assert principals == _principals(engines["postgresql"])  # same seeds, same ids
    found = 0
    for who in principals:
        scope = scope_for(who)
        for entity in ("risk", "measure"):
            for q in QUERIES:
                lite = _hits(engines["sqlite"], scope, entity, q)
                pg = _hits(engines["postgresql"], scope, entity, q)
                assert lite[0] == pg[0] == len(lite[1]) == len(pg[1]), (who.org_key, entity, q)
                assert set(lite[1]) == set(pg[1]), (who.org_key, entity, q, lite, pg)
                found += lite[0]
    assert found > 1000  # the queries do find things


def test_pages_cover_the_hits_in_rank_order(engines: dict[str, Runtime]) -> None:
    # On each engine, pages of any size put together give the whole ranked list.
    scope = scope_for(_principals(engines["sqlite"])[0])
    for q in ("border", "граница", "bank", "zebra"):
        for name, runtime in engines.items():
            total, everything = _hits(runtime, scope, "risk", q)
            pages = [_hits(runtime, scope, "risk", q, 7, o)[1] for o in range(0, total, 7)]
            assert [k for page in pages for k in page] == everything, (name, q)
