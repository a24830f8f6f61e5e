"""Imports go down the layers only (docs/layers.md), and the capability to read everything stays
with its two holders.

Every module of the package is parsed with ast; each import (module level, inside functions,
under TYPE_CHECKING: all count) must name a module of the same layer or a lower one, and never
cross between the web side and the command-line side. A module that fits no layer fails too:
place it here and in docs/layers.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "riskatlas"

BASE = 0
# bottom to top: 1 .. 10
DOMAINS = ("audit", "parties", "sharing", "search", "catalog", "warning", "exchange",
           "governance", "reports", "operations")
SCHEMA = 11  # riskatlas.models and the migrations: above every domain, Alembic sees them all
KITS = 12  # web.* (deps, cache, errors, openapi, ...) | cli_options, output
DOORS = 13  # each domain's routes, pages, *_routes | cli, *_cli
TOP = 14  # web.app | riskatlas.cli, docgen
BASE_MODULES = {"riskatlas", "riskatlas.config", "riskatlas.db", "riskatlas.migrate",
                "riskatlas.runtime", "riskatlas.generation", "riskatlas.idlist"}
CLI_KIT = {"riskatlas.cli_options", "riskatlas.output"}
CLI_TOP = {"riskatlas.cli", "riskatlas.docgen"}


def layer(module: str) -> tuple[int, str | None]:
    """The layer of a module and its side ("web", "cli" or None for both)."""
    parts = module.split(".")
    if module in BASE_MODULES or parts[1] == "library":
        return BASE, None
    if parts[1] in DOMAINS:
        last = parts[-1]
        if last in {"routes", "pages"} or last.endswith(("_routes", "_pages")):
            return DOORS, "web"
        if last == "cli" or last.endswith("_cli"):
            return DOORS, "cli"
        return 1 + DOMAINS.index(parts[1]), None
    if parts[1] in {"models", "migrations"}:
        return SCHEMA, None
    if parts[1] == "web":
        return (TOP if module == "riskatlas.web.app" else KITS), "web"
    if module in CLI_KIT:
        return KITS, "cli"
    if module in CLI_TOP:
        return TOP, "cli"
    raise AssertionError(f"{module} is in no layer: place it in tests/test_layers.py and "
                         "docs/layers.md")


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = SRC.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, module) of every import of a riskatlas module in `path`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0]
                      == "riskatlas"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            if base.split(".")[0] != "riskatlas":
                continue
            for alias in node.names:  # `from riskatlas.catalog import queries`: the submodule
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if _is_module(sub) else base))
    return list(dict.fromkeys(found))


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer(module)


def problems(module: str, path: Path) -> list[str]:
    level, side = layer(module)
    wrong = []
    for line, target in _imports(path, module):
        their_level, their_side = layer(target)
        if their_level > level:
            wrong.append(f"line {line}: {target} is above {module}")
        elif side and their_side and side != their_side:
            wrong.append(f"line {line}: {target} is on the {their_side} side, {module} on the "
                         f"{side} side")
    return wrong


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_only(module: str) -> None:
    assert problems(module, MODULES[module]) == []


def test_upward_and_sideways_imports_are_found(tmp_path: Path) -> None:
    """The rule is not vacuous: an import inside a function counts, as do those under
    TYPE_CHECKING and those of a package's submodule."""
    path = tmp_path / "runtime.py"
    path.write_text("from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from riskatlas.sharing.policy import Scope\n"
                    "def matrix():\n    from riskatlas.catalog import matrix\n",
                    encoding="utf-8")
    assert problems("riskatlas.runtime", path) == [
        "line 3: riskatlas.sharing.policy is above riskatlas.runtime",
        "line 5: riskatlas.catalog.matrix is above riskatlas.runtime"]
    path.write_text("import riskatlas.cli_options\n", encoding="utf-8")
    assert problems("riskatlas.catalog.routes", path) == [
        "line 1: riskatlas.cli_options is on the cli side, riskatlas.catalog.routes on the web "
        "side"]


# The capability to read everything (sharing.policy.FullAccess) is named by the policy and its
# two holders only, and each holder's capability by its own module only.
FULL_ACCESS = {"riskatlas.sharing.policy", "riskatlas.cli_options", "riskatlas.catalog.checks"}
HELD = {"_OPERATOR": "riskatlas.cli_options", "_STORED": "riskatlas.catalog.checks"}


def _names(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.alias):
            out.add(node.name.rpartition(".")[2])
    return out


@pytest.mark.parametrize("module", sorted(MODULES))
def test_full_access_stays_with_its_holders(module: str) -> None:
    names = _names(MODULES[module])
    if module not in FULL_ACCESS:
        assert "FullAccess" not in names
    for held, holder in HELD.items():
        if module != holder:
            assert held not in names, f"{module} touches {holder}.{held}"
