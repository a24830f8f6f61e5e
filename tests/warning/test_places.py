"""Admin1 names across the sources (warning.places)."""

from __future__ import annotations

import pytest

from riskatlas.warning import places


@pytest.mark.parametrize(("ucdp", "plain"), [
    ("Batken province", "Batken"), ("Sughd Province", "Sughd"),
    ("Gorno-Badakhshan Autonomous province", "Gorno-Badakhshan"),
    ("Karakalpakstan autonomous republic", "Karakalpakstan"),
    ("Free State province", "Free State"),  # one kind word only: the name keeps its own
    ("Bishkek city", "Bishkek city"),  # Osh city is not Osh province
    ("Province", "Province"), ("", ""), (None, None)])
def test_plain_ucdp(ucdp: str | None, plain: str | None) -> None:
    assert places.plain_ucdp(ucdp) == plain


@pytest.mark.parametrize(("full_name", "geo_type", "admin1"), [
    ("Osh, Osh, Kyrgyzstan", "4", "Osh"), ("Osh, Kyrgyzstan", "5", "Osh"),
    ("Chicago, Illinois, United States", "3", "Illinois"), ("Illinois, United States", "2",
                                                            "Illinois"),
    ("Kyrgyzstan", "1", None), ("Kyrgyzstan", "4", None), ("Osh, Osh, Kyrgyzstan", None, None),
    (None, "4", None), ("x, " + "y" * 121 + ", Kyrgyzstan", "4", None)])
def test_gdelt_admin1(full_name: str | None, geo_type: str | None, admin1: str | None) -> None:
    assert places.gdelt_admin1(full_name, geo_type) == admin1


def test_key() -> None:
    assert places.key("Batken") == places.key("batken province") == places.key("BATKEN Oblast")
    assert places.key("Ysyk-Köl") == places.key("Ysyk Kol") == "ysykkol"
    assert places.key("Gorno-Badakhshan Autonomous Oblast") == places.key("Gorno-Badakhshan")
    assert places.key("Republic of Karakalpakstan") == places.key("Karakalpakstan")
    assert places.key("Osh") != places.key("Jalal-Abad")
    assert places.key("Province") == "province"  # a name of kind words alone keeps them
    assert places.key(None) == places.key("") == ""
