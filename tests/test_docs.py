"""Docs are tested: every setting and every CLI command is documented, and the generated CLI
and API references are up to date (regenerate with `python -m riskatlas.docgen > docs/cli.md`
and `python -m riskatlas.web.app > docs/api-reference.md`). The site: test_docs_site.py."""

from __future__ import annotations

from pathlib import Path

from riskatlas.config import Settings
from riskatlas.docgen import commands, render
from riskatlas.web.app import api_reference

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"RISKATLAS_{name.upper()}" not in text]
    assert missing == []


def test_cli_reference_is_generated_from_the_code() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == render()
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert all(f"## riskatlas {c}\n" in text for c in commands())


def test_api_reference_is_generated_from_the_code() -> None:
    # Out of date after a route changed: python -m riskatlas.web.app > docs/api-reference.md
    assert (DOCS / "api-reference.md").read_text(encoding="utf-8") == api_reference()


def test_readme_shows_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
