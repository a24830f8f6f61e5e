"""What the catalog commands print: details of one record, sorting and filters, clear errors
for values that name nothing (CLI and API), and Russian tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskatlas.cli import app
from riskatlas.config import Settings
from riskatlas.parties import accounts
from riskatlas.runtime import Runtime
from riskatlas.web.app import create_app
from tests.helpers import SMALL, export, load


def wide(*args: str) -> Any:
    """The CLI on a wide terminal, so table cells are not wrapped or cut."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "300"})


def _with_two_assessments(tmp_path: Path) -> Path:
    doc = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    doc["risks"][0]["assessments"].append(
        {"state": "KGZ", "likelihood": "Low", "impact": "Moderate",
         "rationale": {"en": "border posts reinforced", "ru": "посты усилены"}})
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_risks_show_prints_regional_level_assessments_and_measure_statuses(
    db_url: str, tmp_path: Path
) -> None:
    load(db_url, _with_two_assessments(tmp_path))
    out = wide("risks", "show", "CA-TST-001", "--db", db_url)
    assert out.exit_code == 0, out.output
    # max of (Very High, High) and (Low, Moderate): Very High x High -> High
    assert "High (max of 2 national ratings: likelihood Very High, impact High)" in out.stdout
    assert "TJK: likelihood Very High, impact High — a" in out.stdout
    assert "KGZ: likelihood Low, impact Moderate — border posts reinforced" in out.stdout
    lines = out.stdout.splitlines()
    for key, status in (("CA-MSR-900", "implemented"), ("CA-MSR-901", "proposed")):
        assert any(key in line and status in line for line in lines), (key, status)
    none = wide("risks", "show", "CA-TST-002", "--db", db_url)
    assert "none — the catalog rating applies" in none.stdout
    # The other formats keep the record as the API gives it.
    record = json.loads(wide("risks", "show", "CA-TST-001", "-f", "json", "--db", db_url).stdout)
    assert record["regional"]["level"] == "High" and record["regional"]["rule"] == "max"
    assert all(isinstance(key, str) for key in record["measures"])


def test_measures_show_prints_both_effects(db_url: str) -> None:
    load(db_url, SMALL)
    out = wide("measures", "show", "CA-MSR-900", "--db", db_url)
    assert out.exit_code == 0, out.output
    assert "lowers likelihood by 2, impact by 1 (levels)" in out.stdout
    ru = wide("measures", "show", "CA-MSR-901", "--lang", "ru", "--db", db_url)
    assert "снижает вероятность на 1, последствия на 3" in ru.stdout


def _keys(*args: str) -> list[str]:
    result = wide("risks", "list", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return [r["key"] for r in json.loads(result.stdout)]


def test_risks_list_sort(db_url: str) -> None:
    load(db_url, SMALL)
    assert _keys("--sort", "key", "--db", db_url) == ["CA-TST-001", "CA-TST-002"]
    assert _keys("--sort=-key", "--db", db_url) == ["CA-TST-002", "CA-TST-001"]
    # Levels sort by their rank (Moderate < Very High), not by their names.
    assert _keys("--sort=-level", "--db", db_url) == ["CA-TST-001", "CA-TST-002"]
    assert _keys("--sort", "level", "--db", db_url) == ["CA-TST-002", "CA-TST-001"]
    bad = wide("risks", "list", "--sort", "title", "--db", db_url)
    assert bad.exit_code == 2
    assert "sort: expected one of key, level" in bad.stderr and "'title'" in bad.stderr
    measures = wide("measures", "list", "--sort=-key", "-f", "json", "--db", db_url)
    assert [m["key"] for m in json.loads(measures.stdout)] == ["CA-MSR-901", "CA-MSR-900"]


def test_risks_list_residual_level(db_url: str) -> None:
    load(db_url, SMALL)
    residual = {r["key"]: r["residual_level"] for r in export(db_url)["risks"]}
    for level in set(residual.values()):
        expected = [k for k, v in sorted(residual.items()) if v == level]
        assert _keys("--residual-level", level, "--db", db_url) == expected, level
    every = [arg for level in set(residual.values()) for arg in ("--residual-level", level)]
    assert _keys(*every, "--db", db_url) == sorted(residual)
    unused = next(v for v in ("Very Low", "Low", "Moderate", "High", "Very High")
                  if v not in residual.values())
    assert _keys("--residual-level", unused, "--db", db_url) == []


@pytest.mark.parametrize("command, option, value, allowed", [
    ("risks", "--domain", "space", "cyber"),
    ("risks", "--state", "XYZ", "KGZ"),
    ("risks", "--level", "Extreme", "Very High"),
    ("risks", "--residual-level", "Huge", "Very Low"),
    ("risks", "--status", "finished", "adopted"),
    ("risks", "--category", "odd", "hybrid"),
    ("measures", "--status", "done", "in_progress"),
    ("measures", "--kind", "magic", "prevention"),
    ("measures", "--state", "ABC", "TJK"),
])
def test_unknown_filter_value_is_a_clear_cli_error(
    db_url: str, command: str, option: str, value: str, allowed: str
) -> None:
    result = wide(command, "list", option, value, "--db", db_url)
    assert result.exit_code == 2, result.output
    name = option.removeprefix("--").replace("-", "_")
    assert f"{name}: expected one of" in result.stderr
    assert repr(value) in result.stderr and allowed in result.stderr


def test_filter_values_are_read_as_schemas_read_them(db_url: str) -> None:
    load(db_url, SMALL)
    assert _keys("--domain", "CYBER", "--status", "Draft", "--db", db_url) == ["CA-TST-002"]
    result = wide("measures", "list", "--status", "In progress", "--status", "proposed",
                  "-f", "json", "--db", db_url)
    assert [m["key"] for m in json.loads(result.stdout)] == ["CA-MSR-901"]


@pytest.fixture
def client(db_url: str) -> tuple[TestClient, dict[str, str]]:
    load(db_url, SMALL)
    with Runtime(Settings(database_url=db_url)).transaction() as session:
        accounts.add_user(session, "ed", "C5-SEC", "editor", "correct-horse-battery")
        token = accounts.create_token(session, "ed", "read")
    api = TestClient(create_app(Settings(database_url=db_url, cookie_secure=False)))
    return api, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path, field, value", [
    ("/api/v1/risks?domain=space", "domain", "space"),
    ("/api/v1/risks?state=XYZ", "state", "XYZ"),
    ("/api/v1/risks?level=Extreme", "level", "Extreme"),
    ("/api/v1/risks?residual_level=Huge", "residual_level", "Huge"),
    ("/api/v1/risks?status=finished", "status", "finished"),
    ("/api/v1/risks?category=odd", "category", "odd"),
    ("/api/v1/measures?status=done", "status", "done"),
    ("/api/v1/measures?kind=magic", "kind", "magic"),
    ("/api/v1/measures?state=ABC", "state", "ABC"),
])
def test_unknown_filter_value_is_a_422(
    client: tuple[TestClient, dict[str, str]], path: str, field: str, value: str
) -> None:
    api, headers = client
    response = api.get(path, headers=headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    [problem] = body["problems"]
    assert problem["field"] == f"query.{field}"
    assert problem["reason"].startswith("expected one of") and repr(value) in problem["reason"]


def test_unknown_query_parameter_is_a_422(client: tuple[TestClient, dict[str, str]]) -> None:
    api, headers = client
    for path, name in (("/api/v1/risks?domian=cyber", "domian"),
                       ("/api/v1/measures?risk=CA-TST-001", "risk")):
        response = api.get(path, headers=headers)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["code"] == "validation_error" and name in body["message"]
        assert [p["field"] for p in body["problems"]] == [f"query.{name}"]
    ok = api.get("/api/v1/risks?domain=cyber&limit=5&sort=-level", headers=headers)
    assert ok.status_code == 200
    assert [r["key"] for r in ok.json()["items"]] == ["CA-TST-002"]


def test_api_residual_level_filter(client: tuple[TestClient, dict[str, str]]) -> None:
    api, headers = client
    items = api.get("/api/v1/risks", headers=headers).json()["items"]
    assert len(items) == 2
    for item in items:
        page = api.get("/api/v1/risks", params={"residual_level": item["residual_level"]},
                       headers=headers).json()
        expected = [i["key"] for i in items if i["residual_level"] == item["residual_level"]]
        assert [i["key"] for i in page["items"]] == expected
    # Abbreviations are read as on import.
    level = items[0]["residual_level"]
    short = {"Very Low": "VL", "Low": "L", "Moderate": "M", "High": "H", "Very High": "VH"}
    page = api.get("/api/v1/risks", params={"residual_level": short[level]}, headers=headers)
    assert items[0]["key"] in [i["key"] for i in page.json()["items"]]


def test_russian_tables(db_url: str) -> None:
    load(db_url, SMALL)
    risks = wide("risks", "list", "--lang", "ru", "--db", db_url).stdout
    for text in ("Рисков: 2", "Ключ", "Область", "Категория", "Остаточный уровень",
                 "Киберугрозы", "Границы и территориальные споры", "новый", "черновик",
                 "утверждено", "Очень высокий", "Тестовый риск"):
        assert text in risks, text
    assert "cyber" not in risks and "draft" not in risks
    measures = wide("measures", "list", "--lang", "ru", "--db", db_url).stdout
    for text in ("Мер: 2", "Вид", "Ведущая организация", "предупреждение", "готовность",
                 "реализовано", "предложено"):
        assert text in measures, text
    show = wide("risks", "show", "CA-TST-002", "--lang", "ru", "--db", db_url).stdout
    for text in ("Региональный уровень", "нет — действует оценка каталога", "Тенденция",
                 "растёт", "краткосрочный", "TLP:GREEN"):
        assert text in show, text
    matrix = wide("matrix", "show", "--lang", "ru", "--db", db_url).stdout
    assert "вероятность \\ последствия" in matrix and "Очень низкий" in matrix
    # Machine formats keep machine values whatever the language.
    as_json = json.loads(wide("risks", "list", "--lang", "ru", "-f", "json",
                              "--db", db_url).stdout)
    assert [r["domain"] for r in as_json] == ["borders", "cyber"]
    english = wide("risks", "list", "--db", db_url).stdout
    assert "cyber" in english and "Киберугрозы" not in english


def test_labels_cover_every_enum_value() -> None:
    from typing import get_args

    from riskatlas.catalog import schemas
    from riskatlas.catalog.matrix import load_matrix
    from riskatlas.library.labels import _labels

    ru = _labels()["ru"]
    groups = {"domain": schemas.Domain, "category": schemas.Category,
              "trend": schemas.Trend, "horizon": schemas.Horizon, "tlp": schemas.Tlp,
              "treatment": schemas.Treatment}
    missing = [f"{group}.{value}" for group, kind in groups.items()
               for value in get_args(kind) if value not in ru[group]]
    missing += [f"status.{v}" for kind in (schemas.RiskStatus, schemas.MeasureStatus)
                for v in get_args(kind) if v not in ru["status"]]
    missing += [f"kind.{v}" for kind in (schemas.MeasureKind, schemas.ActorKind)
                for v in get_args(kind) if v not in ru["kind"]]
    missing += [f"level.{v}" for v in load_matrix("nist-800-30").levels if v not in ru["level"]]
    assert missing == []
    assert set(_labels()["en"]["phrases"]) == set(ru["phrases"])
