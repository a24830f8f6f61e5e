"""Hostile and oversized input (issue 8): every door refuses it at once, with a position, the
same way, and never with a 500, a traceback, a hang or a crash."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from riskatlas.catalog.files import ALIAS_BUDGET, NESTING_LIMIT
from riskatlas.catalog.schemas import MANY_STATES, TEXT_LIMIT
from riskatlas.catalog.spreadsheets import CELL_LIMIT
from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import SMALL, cli, export, load

pytestmark = pytest.mark.audited  # issue 8: the audit chain holds after each test

PASSWORD = "correct-horse-battery"
NEW_RISK: dict[str, Any] = {
    "key": "CA-NEW-001",
    "title": {"en": "New", "ru": "Новый"},
    "summary": {"en": "s", "ru": "с"},
    "category": "emerging",
    "domain": "cyber",
    "states": ["KGZ"],
    "likelihood": "Low",
    "impact": "High",
    "rationale": {"en": "r", "ru": "р"},
    "sources": [{"title": "t", "url": "https://example.org/n", "published": "2025-01-02"}],
    "tlp": "green",
}


@pytest.fixture
def api(db_url: str) -> tuple[TestClient, dict[str, str]]:
    """small.yaml (owned by C5-SEC), an editor of C5-SEC and one of TJK-SC (TJK's assessment)."""
    load(db_url, SMALL)
    tokens = {}
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        for name, org in [("ed", "C5-SEC"), ("tjk", "TJK-SC")]:
            accounts.add_user(session, name, org, "editor", PASSWORD)
            tokens[name] = f"Bearer {accounts.create_token(session, name, 'write')}"
    app = create_app(Settings(database_url=db_url, cookie_secure=False))
    return TestClient(app, raise_server_exceptions=False), tokens


def _problems(response: Any) -> list[tuple[str, str]]:
    return [(p["field"], p["reason"]) for p in response.json().get("problems", [])]


# --- sharing that is not a mapping of lists --------------------------------------------------


@pytest.mark.parametrize("tlp", ["green", "red"])  # RED records had `sharing` pre-processed
@pytest.mark.parametrize(("sharing", "field"), [
    ("x", "sharing"), (["a"], "sharing"), ({"users": 5}, "sharing.users"),
    ({"users": [["a"]]}, "sharing.users[0]"), (7, "sharing"),
])
def test_sharing_of_the_wrong_type_is_a_validation_problem(
    api: tuple[TestClient, dict[str, str]], tlp: str, sharing: Any, field: str,
) -> None:
    client, tokens = api
    body = dict(NEW_RISK, tlp=tlp, sharing=sharing)
    response = client.post("/api/v1/risks", json=body, headers={"Authorization": tokens["ed"]})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert field in {f for f, _ in _problems(response)}


# --- If-Match --------------------------------------------------------------------------------

BAD_ETAGS = ['"99999999999999999999999"', '"' + "9" * 5000 + '"', '"2147483648"', '"-1"',
             '"1.0"', '"\u00b2"']  # "²": str.isdigit says yes, int() says no


def _raw(client: TestClient, method: str, path: str, headers: dict[str, str],
         body: bytes = b"") -> int:
    """Status of a request whose headers go to the app as their Latin-1 bytes, as a server
    passes them (the test client would send "²" as UTF-8, or refuse it)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "client": ("127.0.0.1", 5000),
             "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                         *((k.lower().encode(), v.encode("utf-8") if v.isascii()
                            else v.encode("latin-1", "replace")) for k, v in headers.items())]}
    try:
        asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - the app let an error out: the server answers 500
        return 500
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.mark.parametrize("etag", BAD_ETAGS)
def test_an_if_match_that_is_no_version_is_412_everywhere(
    api: tuple[TestClient, dict[str, str]], etag: str,
) -> None:
    client, tokens = api
    risk = "/api/v1/risks/CA-TST-001"
    patch = json.dumps({"trend": "rising"}).encode()
    assessment = json.dumps({"likelihood": 2, "impact": 2,
                             "rationale": {"en": "x", "ru": "х"}}).encode()
    for method, path, who, body in [
        ("PATCH", risk, "ed", patch),
        ("POST", f"{risk}/retire", "ed", b""),
        ("POST", f"{risk}/measures/CA-MSR-900/reject", "ed", b""),
        ("PUT", f"{risk}/assessments/TJK", "tjk", assessment),
        ("DELETE", f"{risk}/assessments/TJK", "tjk", b""),
    ]:
        status = _raw(client, method, path, {"Authorization": tokens[who], "If-Match": etag},
                      body)
        assert status == 412, (method, path, etag[:30], status)
    # and nothing changed: the right ETag still works
    ok = client.patch(risk, json={"trend": "rising"},
                      headers={"Authorization": tokens["ed"], "If-Match": '"1"'})
    assert ok.status_code == 200, ok.text


# --- YAML aliases, nesting, numbers: refused at once, with a position ------------------------

# As reported: nine levels of nine aliases in a field no record has (9**9 values, < 900 bytes).
LAUGHS = "risks:\n- key: CA-TST-001\n  junk:\n    a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"    {c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True))


def _validate(db_url: str, path: Path) -> tuple[Any, float]:
    started = time.perf_counter()
    result = cli("validate", str(path), "--db", db_url)
    return result, time.perf_counter() - started


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("laughs.yaml", LAUGHS, ":9: file: YAML aliases repeat more than 100,000 values (*e)"),
    ("self.yaml", "risks: []\njunk: &l [*l]\n",
     ":2: file: the YAML alias *l is inside the value it names"),
    ("self-map.yaml", "risks:\n- &r {key: CA-X-1, me: *r}\n",
     ":2: file: the YAML alias *r is inside the value it names"),
    ("self-and-bad-value.yaml",
     "risks:\n- key: CA-X-1\n  a: &x [*x]\n  b: !!timestamp 2024-13-45\n",
     ":3: file: the YAML alias *x is inside the value it names"),  # found by the fuzz test
    ("deep-through-alias.yaml", "risks: []\na: &a " + "[" * 60 + "]" * 60 + "\nb: "
     + "[" * 10 + "*a" + "]" * 10 + "\n", ":3: file: nested deeper than 64 levels"),
    ("deep.json", '{"risks": [], "junk": ' + "[" * 100_000 + "]" * 100_000 + "}",
     ":1: file: nested deeper than 64 levels of lists and mappings"),
    ("deep-lines.json", '{"risks": [\n{"key": "CA-X-1",\n"junk": ' + "[\n" * 5000 + "]" * 5000
     + "}]}", ":64: file: nested deeper than 64 levels"),
    ("deep-flow.yaml", "risks: []\njunk: " + "[" * 100_000 + "]" * 100_000 + "\n",
     ":2: file: invalid YAML"),
    ("deep-block.yaml", "risks: []\njunk:\n" + "".join("  " * i + "-\n" for i in range(1, 5000)),
     ":66: file: nested deeper than 64 levels"),
    ("digits.json", '{"risks": [{"key": "CA-X-1", "version": ' + "9" * 5000 + "}]}",
     ":1: file: a number of more than 4,300 digits"),
    ("digits.yaml", "risks:\n- key: CA-X-1\n  version: " + "9" * 5000 + "\n",
     ":3: file: invalid YAML: a number of more than 4,300 digits"),
    ("timestamp.yaml", "risks:\n- key: CA-X-1\n  x: !!timestamp 2024-13-45\n",
     ":3: file: invalid YAML: '2024-13-45' is not a valid !!timestamp"),
    # (JSON is positioned through YAML, which cannot read the escape: line 0, the file's)
    ("surrogate.json", '{"risks": [{"key": "CA-\\ud800"}]}',
     ":0: record: text must be Unicode: it holds a lone surrogate (U+D800)"),
    ("nul.yaml", 'risks:\n- key: "CA-X-1\\0"\n', ":2: record: text must not contain NUL"),
])
def test_hostile_files_are_refused_at_once_with_a_position(
    db_url: str, tmp_path: Path, name: str, text: str, expected: str,
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result, seconds = _validate(db_url, path)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert f"{path}{expected}" in result.stderr, result.stderr[:2000]
    assert seconds < 2, f"{seconds:.1f} s"


def test_aliases_within_the_budget_read_as_their_values(db_url: str, tmp_path: Path) -> None:
    """PyYAML writes a value that appears twice as an anchor and aliases: such a file imports."""
    doc = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    source = doc["risks"][0]["sources"][0]
    doc["risks"][1]["sources"] = [source]  # the same object twice: &id001 ... *id001
    path = tmp_path / "shared.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    assert "*id001" in path.read_text(encoding="utf-8")
    load(db_url, path)
    risks = {r["key"]: r for r in export(db_url)["risks"]}
    assert risks["CA-TST-002"]["sources"] == risks["CA-TST-001"]["sources"]
    # the export itself never writes aliases, even of values it repeats
    result = cli("export", "--format", "yaml", "--db", db_url)
    assert result.exit_code == 0 and "*id" not in result.stdout and "&id" not in result.stdout
    assert ALIAS_BUDGET >= 10_000


def test_nesting_at_the_limit_is_read(db_url: str, tmp_path: Path) -> None:
    inner = NESTING_LIMIT - 1  # the document mapping is the first level
    for name, text in [
        ("ok.json", '{"risks": [], "junk": ' + "[" * inner + "]" * inner + "}"),
        ("ok.yaml", "risks: []\njunk: " + "[" * inner + "x" + "]" * inner + "\n"),
        ("brackets.json", '{"risks": [], "junk": "' + "[" * 500 + '\\"{{{"}'),  # in a text
    ]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result, _ = _validate(db_url, path)
        assert f"{path}:1: junk: unknown section" in result.stderr, (name, result.stderr[:500])
        assert "nested" not in result.stderr


def test_json_cells_of_a_table_are_bounded_as_files_are(db_url: str, tmp_path: Path) -> None:
    load(db_url, SMALL)
    out = tmp_path / "tables"
    assert cli("export", "--format", "csv", "--output", str(out), "--db", db_url).exit_code == 0
    with (out / "risks.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    sources, version = rows[0].index("sources"), rows[0].index("version")
    rows[1][sources] = "[" * 100_000 + "]" * 100_000
    rows[1][version] = "9" * 5000  # a number column: int() of it raised (found by fuzzing)
    rows[2][sources] = '[{"title": ' + "7" * 5000 + "}]"
    path = tmp_path / "risks.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2, result.output
    assert f"{path}:2: sources: nested deeper than {NESTING_LIMIT} levels" in result.stderr
    assert f"{path}:3: sources: a number of more than 4,300 digits" in result.stderr
    assert f"{path}:2: CA-TST-001: stored version 1, file has '999" in result.stderr


# --- JSON bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(("depth", "where"), [(200, "links"), (200, "summary"), (900, "junk"),
                                              (100_000, "links")])
def test_a_deeply_nested_body_is_a_json_error(
    api: tuple[TestClient, dict[str, str]], depth: int, where: str,
) -> None:
    client, tokens = api
    body = json.dumps(dict(NEW_RISK, **{where: "@"})).replace('"@"', "[" * depth + "]" * depth)
    for method, path, extra in [("POST", "/api/v1/risks", {}),
                                ("PATCH", "/api/v1/risks/CA-TST-001", {"If-Match": '"1"'})]:
        response = client.request(method, path, content=body, headers={
            "Authorization": tokens["ed"], "Content-Type": "application/json", **extra})
        assert response.status_code in {400, 422}, (method, response.text[:300])
        assert response.json()["code"] in {"bad_request", "validation_error"}
        if depth < 1000 and method == "POST":  # parsed: then the same rule as for a file
            assert any(f"nested deeper than {NESTING_LIMIT} levels" in reason
                       for _, reason in _problems(response)), response.text[:300]
    assert client.get("/api/v1/risks/CA-NEW-001",
                      headers={"Authorization": tokens["ed"]}).status_code == 404


# --- One limit for texts, in every door and format --------------------------------------------

LONG = "x" * (TEXT_LIMIT + 1)
TOO_LONG = f"en: {TEXT_LIMIT + 1:,} characters; a text holds at most {TEXT_LIMIT:,}"


def _risk_file(tmp_path: Path, fmt: str, risk: dict[str, Any]) -> Path:
    from riskatlas.catalog.spreadsheets import write_csv, write_xlsx

    path = tmp_path / f"risk.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps({"risks": [risk]}, ensure_ascii=False), encoding="utf-8")
    elif fmt == "yaml":
        path.write_text(yaml.safe_dump({"risks": [risk]}, allow_unicode=True), encoding="utf-8")
    elif fmt == "csv":
        out = io.StringIO()
        write_csv([risk], out)
        path.write_text(out.getvalue(), encoding="utf-8")
    else:
        write_xlsx({"risks": [risk]}, path)  # 32,001 characters still fit an Excel cell
    return path


@pytest.mark.parametrize("fmt", ["api", "json", "yaml", "csv", "xlsx"])
def test_a_text_over_the_limit_is_refused_alike_by_every_door(
    api: tuple[TestClient, dict[str, str]], db_url: str, tmp_path: Path, fmt: str,
) -> None:
    risk = dict(NEW_RISK, summary={"en": LONG, "ru": "с"})
    if fmt == "api":
        client, tokens = api
        response = client.post("/api/v1/risks", json=risk,
                               headers={"Authorization": tokens["ed"]})
        assert response.status_code == 422
        field, reason = _problems(response)[0]
        assert field == "summary" and reason.startswith(TOO_LONG), reason
        return
    before = export(db_url)
    path = _risk_file(tmp_path, fmt, dict(risk, owner="C5-SEC"))
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2, result.output
    assert f": summary: {TOO_LONG}" in result.stderr, result.stderr[:500]
    assert export(db_url) == before


def test_a_text_at_the_limit_comes_back_through_every_format(
    api: tuple[TestClient, dict[str, str]], db_url: str, tmp_path: Path,
) -> None:
    """Whatever the API accepts comes back through XLSX, CSV, JSON and YAML unchanged."""
    client, tokens = api
    half = (TEXT_LIMIT - 1 - 80) // 2
    # 10 line breaks: 20 characters typed, 80 in a workbook cell (\r is written _x000D_);
    # the leading "=" gets the formula guard "'" on top, which the cell limit leaves room for.
    at_limit = "=" + "Ж" * half + "\r\n" * 10 + "Ж" * (TEXT_LIMIT - 1 - 80 - half)
    drivers = [{"en": f"d{i} " + "y" * 700, "ru": f"д{i}"} for i in range(46)]
    assert len(json.dumps(drivers[:40], ensure_ascii=False)) < TEXT_LIMIT
    assert len(json.dumps(drivers, ensure_ascii=False)) > TEXT_LIMIT
    risk = dict(NEW_RISK, summary={"en": at_limit, "ru": "Ж" * TEXT_LIMIT},
                drivers=drivers[:40], sources=[dict(NEW_RISK["sources"][0], title="t" * 9000)])
    response = client.post("/api/v1/risks", json=risk, headers={"Authorization": tokens["ed"]})
    assert response.status_code == 201, response.text[:500]
    stored = export(db_url)
    for fmt in ("xlsx", "csv", "json", "yaml"):
        target = tmp_path / (f"all.{fmt}" if fmt != "csv" else "tables")
        result = cli("export", "--format", fmt, "--output", str(target), "--db", db_url)
        assert result.exit_code == 0, (fmt, result.output[:500])
        result = cli("import", str(target), "--db", db_url)
        assert result.exit_code == 0, (fmt, result.output[:1000])
        assert export(db_url) == stored, fmt
    response = client.post("/api/v1/risks", json=dict(risk, key="CA-NEW-002", drivers=drivers),
                           headers={"Authorization": tokens["ed"]})
    assert response.status_code == 422
    assert any(f == "drivers" and "characters as JSON; a spreadsheet writes this list in one "
               "cell" in r for f, r in _problems(response)), response.text[:500]


@pytest.mark.parametrize(("change", "field", "reason"), [
    ({"summary": {"en": "a\r" * 5000 + "b" * 22_000, "ru": "с"}}, "summary",
     "en: 62,000 characters (32,000 as typed: a workbook writes a carriage return"),
    ({"states": [f"A{a}{b}" for a in "ABCDEFGHIJKLM" for b in "ABCDEFGHIJKLMNOPQRSTU"]},
     "states", f"List should have at most {MANY_STATES} items"),
    ({"sources": [dict(NEW_RISK["sources"][0], url="https://e.org/" + "u" * 3000)]},
     "sources[0].url", "String should have at most 2048 characters"),
    ({"sources": [dict(NEW_RISK["sources"][0], publisher=LONG)]}, "sources[0].publisher",
     f"{TEXT_LIMIT + 1:,} characters; a text holds at most"),
    ({"title": {f"x{chr(97 + i)}": "t" for i in range(20)} | {"en": "t", "ru": "т"}}, "title",
     "22 languages: a text has at most 16"),
    ({"sharing": {"users": ["u" * 65]}}, "sharing.users[0]",
     "String should have at most 64 characters"),
])
def test_lists_and_texts_are_bounded(
    api: tuple[TestClient, dict[str, str]], change: dict[str, Any], field: str, reason: str,
) -> None:
    client, tokens = api
    response = client.post("/api/v1/risks", json=dict(NEW_RISK, **change),
                           headers={"Authorization": tokens["ed"]})
    assert response.status_code == 422, response.text[:300]
    assert any(f == field and reason in r for f, r in _problems(response)), _problems(response)


def test_a_cell_over_the_csv_module_limit_is_a_problem_not_a_crash(
    db_url: str, tmp_path: Path,
) -> None:
    load(db_url, SMALL)
    out = tmp_path / "tables"
    assert cli("export", "--format", "csv", "--output", str(out), "--db", db_url).exit_code == 0
    with (out / "risks.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    column = rows[0].index("summary.en")
    rows[1][column] = "a" * 200_000  # over the csv module's default 131,072: read, refused
    rows[2][column] = "b" * (CELL_LIMIT + 1)  # over what is read at all
    path = tmp_path / "risks.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = cli("import", str(path), "--db", db_url)
    assert result.exit_code == 2, result.output
    assert f"{path}:2: summary: en: 200,000 characters; a text holds at most 32,000" \
        in result.stderr
    assert f"{path}:3: cell: a cell longer than 1,048,576 characters" in result.stderr
