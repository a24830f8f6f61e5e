"""The number of SQL statements of a list page, a detail and a search is fixed (no N+1).

Counted with a `before_cursor_execute` listener on the engine, on both databases, for the local
operator and for a member's scope (the residual level and the links are then computed from what
the caller may see). A page of 100 records takes exactly the statements of a page of 20; the
numbers are written out, so a new per-record query shows up as a changed number.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import event, select

from riskatlas.audit.service import Who
from riskatlas.catalog import queries
from riskatlas.catalog.importer import validate_files
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.service import save
from riskatlas.cli_options import operator_scope
from riskatlas.parties import accounts
from riskatlas.parties.models import User
from riskatlas.runtime import Runtime
from riskatlas.sharing import service as sharing
from riskatlas.sharing.policy import Scope, scope_for

RISKS, MEASURES = 120, 40
TLPS = ("clear", "green", "amber", "amber+strict", "red")
STATES = ("KAZ", "KGZ", "TJK", "TKM", "UZB")
DOMAINS = ("borders", "cyber", "water_energy", "terrorism")

# Statements of one call, the same for every page size, on both databases: the total and the
# page's ids, then one per part of the records (rows, states, actors, links, assessments,
# sources, grants); a detail looks its key up instead of counting.
LIST = 9
DETAIL = 8
MEASURE_LIST = 7
MEASURE_DETAIL = 6
# A search: PostgreSQL ranks and counts the matches in one statement; SQLite counts them, then
# reads FTS5's ranking in batches and checks each batch against the scope (search.service).
SEARCH = {"sqlite": 12, "postgresql": 9}

def _text(what: str) -> dict[str, str]:
    return {"en": f"{what} border water", "ru": f"{what} граница вода"}


def _catalog() -> dict[str, Any]:
    risks = [{
        "key": f"CA-QRY-{i:03d}", "title": _text(f"Risk {i}"), "summary": _text("Summary"),
        "category": "traditional", "domain": DOMAINS[i % len(DOMAINS)],
        "states": [STATES[i % 5], STATES[(i + 1) % 5]], "actors": ["ISKP"],
        "likelihood": 1 + i % 5, "impact": 1 + (i // 5) % 5, "rationale": _text("Because"),
        "drivers": [_text("Driver")], "warning_signs": [_text("Sign")],
        "sources": [{"title": "Source", "url": f"https://example.org/{i}",
                     "published": "2024-05"}],
        "assessments": [{"state": "KAZ", "likelihood": 3, "impact": 2,
                         "rationale": _text("Assessed")}],
        "tlp": TLPS[i % len(TLPS)], "status": "adopted",
        "sharing": {"groups": ["QRY"] if i % 5 == 2 else [],
                    "orgs": ["KGZ-SC"] if i % 5 == 3 else [],
                    "users": ["qry_editor"] if i % 5 == 4 else []},
    } for i in range(RISKS)]
    measures = [{
        "key": f"CA-QRM-{i:03d}", "title": _text(f"Measure {i}"), "summary": _text("Summary"),
        "kind": "prevention", "treatment": "reduce", "lead": "KAZ-SC",
        "states": [STATES[i % 5]], "status": "implemented", "effect": {"likelihood": 1,
                                                                       "impact": 1},
        "risks": [f"CA-QRY-{(i * 3 + j) % RISKS:03d}" for j in range(3)],
        "sources": [{"title": "Source", "url": f"https://example.org/m{i}",
                     "published": "2024"}],
        "rationale": _text("Why"), "tlp": TLPS[i % 3],
    } for i in range(MEASURES)]
    actors = [{"key": "ISKP", "name": {"en": "ISKP", "ru": "ИГИЛ-Х"},
               "kind": "non_state_armed_group"}]
    return {"actors": actors, "risks": risks, "measures": measures}


@pytest.fixture
def catalog(runtime: Runtime, tmp_path: Path) -> Runtime:
    with runtime.transaction() as session:
        accounts.add_user(session, "qry_editor", "KAZ-SC", "editor", "correct-horse-battery")
        sharing.add_group(session, "QRY", "Query-count partners", "KAZ-SC", who=Who("test"))
        sharing.add_members(session, "QRY", ["SAU-GOV"], who=Who("test"))
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(_catalog(), allow_unicode=True), encoding="utf-8")
    matrix = active_matrix(runtime.settings)
    with runtime.transaction() as session:
        save(session, matrix, validate_files(session, matrix, [path]), Who("test"))
    return runtime


@contextmanager
def counted(runtime: Runtime) -> Iterator[tuple[Any, list[str]]]:
    """A session whose statements (after it has its connection) are collected."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with runtime.sessions() as session:
        session.connection()  # connecting (and PostgreSQL's pre-ping) is not the read
        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            yield session, statements
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)


def _scopes(runtime: Runtime) -> dict[str, Scope]:
    with runtime.transaction() as session:
        user = session.scalars(select(User).where(User.username == "qry_editor")).one()
        member = accounts.principal_for(session, user)
    return {"operator": operator_scope(), "member": scope_for(member)}


@pytest.mark.parametrize("who", ["operator", "member"])
def test_a_list_page_takes_the_same_statements_whatever_its_size(catalog: Runtime,
                                                                 who: str) -> None:
    scope, matrix = _scopes(catalog)[who], active_matrix(catalog.settings)
    for limit in (20, 100):
        with counted(catalog) as (session, statements):
            total, rows = queries.list_risks(session, matrix, scope, queries.RiskFilters(),
                                             limit=limit)
        assert len(rows) == min(limit, total) and total >= (100 if who == "operator" else 50)
        assert len(statements) == LIST, (limit, statements)
        with counted(catalog) as (session, statements):
            _, measures = queries.list_measures(session, scope, queries.MeasureFilters(),
                                                limit=limit)
        assert measures and len(statements) == MEASURE_LIST, (limit, statements)


@pytest.mark.parametrize("who", ["operator", "member"])
def test_a_detail_takes_a_fixed_number_of_statements(catalog: Runtime, who: str) -> None:
    scope, matrix = _scopes(catalog)[who], active_matrix(catalog.settings)
    for key in ("CA-QRY-000", "CA-QRY-005", "CA-QRY-010"):  # clear: every caller sees them
        with counted(catalog) as (session, statements):
            record = queries.get_risk(session, matrix, scope, key)
        assert record["measures"] and record["assessments"] and record["sources"]
        assert len(statements) == DETAIL, statements
    with counted(catalog) as (session, statements):
        assert queries.get_measure(session, scope, "CA-QRM-000")["risks"]
    assert len(statements) == MEASURE_DETAIL, statements


@pytest.mark.parametrize("who", ["operator", "member"])
def test_a_search_takes_the_same_statements_whatever_its_size(catalog: Runtime,
                                                              who: str) -> None:
    scope, matrix = _scopes(catalog)[who], active_matrix(catalog.settings)
    for limit in (20, 100):
        with counted(catalog) as (session, statements):
            total, rows = queries.list_risks(session, matrix, scope, queries.RiskFilters(),
                                             limit=limit, q="border")
        assert rows and len(rows) == min(limit, total)
        assert len(statements) == SEARCH[catalog.engine.dialect.name], (limit, statements)
