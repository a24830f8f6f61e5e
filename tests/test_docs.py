"""Docs are tested: every setting and every CLI command is documented, and the generated CLI
reference is up to date (regenerate with `python -m riskatlas.docgen > docs/cli.md`)."""

from __future__ import annotations

from pathlib import Path

from riskatlas.config import Settings
from riskatlas.docgen import commands, render

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"RISKATLAS_{name.upper()}" not in text]
    assert missing == []


def test_cli_reference_is_generated_from_the_code() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == render()
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert all(f"## riskatlas {c}\n" in text for c in commands())


def test_readme_shows_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
