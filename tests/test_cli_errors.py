"""No traceback reaches a user from any command: malformed input gets a clear message and
exit status 2 (the command tree is walked, so a new command is covered without a new test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from riskatlas.cli import app
from riskatlas.docgen import _walk
from tests.helpers import SMALL, cli, load

COMMANDS = list(_walk(typer.main.get_command(app), []))
NO_DATABASE = {"matrix show"}  # reads only the matrix file; its --db is never opened


def _filled(command: Any) -> list[str]:
    """Plausible values for every required argument and option (so the database is reached)."""
    out: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        kind = getattr(param, "type", None)
        choices = getattr(kind, "choices", None)
        value = str(choices[0]) if choices else "1" if getattr(kind, "name", "") == "integer" \
            else "X"
        out += [param.opts[0], value] if getattr(param, "param_type_name", "") == "option" \
            else [value]
    return out


def _check(result: Any) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert "error" in result.stderr.lower() or "problem" in result.stderr.lower()


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
@pytest.mark.parametrize("url", ["::not a url::", "sqlite:////nonexistent/folder/x.db"])
def test_every_command_refuses_a_database_it_cannot_use(path: list[str], command: Any,
                                                         url: str) -> None:
    if not any(param.name == "db" for param in command.params):
        pytest.fail(f"riskatlas {' '.join(path)} takes no --db")
    if " ".join(path) in NO_DATABASE:
        pytest.skip("never opens the database")
    _check(cli(*path, *_filled(command), "--db", url))


MALFORMED: list[tuple[str, ...]] = [
    ("risks", "edit", "CA-TST-001", "--set", "no-equals-sign"),
    ("risks", "edit", "CA-TST-001", "--set", "likelihood=Extreme"),
    ("risks", "edit", "CA-TST-001", "--set", "version=7"),
    ("risks", "edit", "CA-TST-001", "--set", "status=adopted"),  # unchanged: no error
    ("risks", "list", "--level", "Extreme"),
    ("risks", "add", "--set", "key=CA-TST-001"),
    ("measures", "edit", "CA-MSR-900", "--set", "risks=[CA-NOPE-001]"),
    ("measures", "edit", "CA-MSR-900", "--set", "effect={likelihood: 99}"),
    ("assessments", "set", "CA-TST-001", "KGZ", "--likelihood", "Extreme"),
    ("assessments", "set", "CA-TST-001", "SAU", "--likelihood", "Low"),
    ("links", "accept", "CA-TST-001", "CA-NOPE-001"),
    ("risks", "edit", "CA-TST-001", "--set", "likelihood=²"),
    ("risks", "edit", "CA-TST-001", "--set", "summary.en=x", "--as", "nobody"),
]


@pytest.mark.parametrize("args", MALFORMED, ids=[" ".join(a) for a in MALFORMED])
def test_malformed_command_input_is_a_clear_error(db_url: str, args: tuple[str, ...]) -> None:
    load(db_url, SMALL)
    result = cli(*args, "--db", db_url)
    if args[-1] == "status=adopted":  # changing nothing is no error
        assert result.exit_code == 0, result.output
        return
    _check(result)


@pytest.mark.parametrize("text", ["risks: [1, 2", "junk: &l [*l]", "{" * 10, "\x00"])
def test_malformed_files_are_clear_errors(db_url: str, tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    for command in ("import", "validate"):
        _check(cli(command, str(path), "--db", db_url))


@pytest.mark.parametrize("ref", ["²", "9" * 40])  # str.isdigit says yes to "²", int() no
def test_a_token_reference_that_only_looks_like_an_id_is_not_found(db_url: str,
                                                                   ref: str) -> None:
    result = cli("tokens", "revoke", ref, "--db", db_url)
    assert (result.exit_code, result.exception.__class__) == (1, SystemExit), result.output
    assert f"no token '{ref}'" in result.stderr


def test_each_command_is_listed_on_its_own_lines() -> None:
    """A group's list shows each command's first paragraph as one line, not cut at the
    docstring's own line breaks (Typer's rich help keeps those in `help`)."""
    import inspect

    def leaves(group: Any) -> list[Any]:  # typer's own copy of click's groups and commands
        out: list[Any] = []
        for command in group.commands.values():
            out += leaves(command) if hasattr(command, "commands") else [command]
        return out

    commands = leaves(typer.main.get_command(app))
    assert len(commands) > 40
    for command in commands:
        shown = command.short_help or inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert "\n" not in shown, command.name
