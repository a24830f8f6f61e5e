"""The services' reasons shown on pages in the reader's language (web.reasons): a
validation problem on the measures board, a refused national assessment on the risk page,
and the kind of record as the context where the Russian wording differs."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskatlas.web.reasons import explain
from tests.web.pages.measure_world import World, form_fields, make_world

OWNED = ("owned by KAZ-SC: only its editors change it; other organisations propose changes "
         "instead")


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    return make_world(db_url, tmp_path)


def test_a_validation_problem_on_the_board_in_russian(world: World) -> None:
    client, _ = world.browser("kaz_editor")
    fields = form_fields(client.get("/measures?view=board&lang=ru").text, "CA-MWB-001")
    assert fields["next"] == "/measures?view=board&amp;lang=ru"
    response = client.post("/measures/CA-MWB-001/update", data={
        **fields, "next": "/measures?view=board&lang=ru", "progress": "150"})
    assert response.status_code == 422
    assert "Укажите число не больше 100." in response.text
    assert "Input should" not in response.text
    english = client.post("/measures/CA-MWB-001/update", data={
        **fields, "next": "/measures?view=board", "progress": "150"})
    assert "Give a number of at most 100." in english.text


def test_a_refused_assessment_on_the_risk_page_in_russian(world: World) -> None:
    client, csrf = world.browser("kgz_editor")  # a Kyrgyz editor, setting Kazakhstan's
    response = client.post("/risks/CA-WEB-001/assessments/KAZ?lang=ru", data={
        "csrf": csrf, "likelihood": "High", "impact": "Low", "rationale_en": "x",
        "rationale_ru": "х"})
    assert response.status_code == 403
    assert "Национальную оценку KAZ устанавливают только организации" in response.text
    assert "only organisations of" not in response.text


def test_the_kind_of_record_decides_the_russian_wording() -> None:
    assert str(explain(OWNED, "ru", "risk")).startswith("Этот риск принадлежит KAZ-SC")
    assert str(explain(OWNED, "ru", "measure")).startswith("Эта мера принадлежит KAZ-SC")
    assert str(explain(OWNED, "ru")).startswith("Запись принадлежит KAZ-SC")
    assert str(explain(OWNED, "en", "risk")).startswith("Owned by KAZ-SC: only its editors")
    conflict = "CA-MWB-001 was changed by someone else (expected version 3)"
    assert str(explain(conflict, "ru", "measure")).startswith("Меру CA-MWB-001 тем временем")
    # a reason not known is shown as it is, marked as English
    assert str(explain("something new", "ru")) == '<span lang="en">something new</span>'
