from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from riskatlas.config import get_settings

from .writers import Databases, databases


@pytest.fixture
def fresh(db_url: str, tmp_path: Path) -> Iterator[Databases]:
    """New, empty databases on the engine of db_url."""
    yield from databases(db_url, tmp_path)


@pytest.fixture
def setenv(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    """Set a RISKATLAS_* variable for the CLI (whose settings are read once and cached)."""
    def set_(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_
    monkeypatch.undo()
    get_settings.cache_clear()
