"""`riskatlas init`: schema, default catalog and the first administrator, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskatlas.config import get_settings
from tests.helpers import cli


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_init_loads_the_catalog_and_prints_the_admin_password_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = cli("init", "--db", url)
    assert first.exit_code == 0, first.output
    assert "Loaded the default catalog" in first.stderr
    assert "Created the administrator admin" in first.stderr
    second = cli("init", "--db", url)
    assert second.exit_code == 0
    assert "left as it is" in second.stderr and "administrator" not in second.stderr
    risks = json.loads(cli("risks", "list", "-f", "json", "--db", url).stdout)
    assert len(risks) >= 40


def test_a_bad_admin_password_stops_init_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKATLAS_ADMIN_PASSWORD", "short")
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = cli("init", "--db", url)
    assert result.exit_code == 1
    assert "cannot create the administrator" in result.stderr
    assert json.loads(cli("risks", "list", "-f", "json", "--db", url).stdout) == []
