"""Risk matrices are data: a YAML file names the scales and the level of every cell."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from riskatlas.config import Settings

PARSED_CACHE = 512  # ratings remembered per matrix


class MatrixError(ValueError):
    pass


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip()).lower()


@dataclass(frozen=True)
class Matrix:
    name: str
    likelihood: tuple[str, ...]  # labels ordered low to high
    impact: tuple[str, ...]
    levels: tuple[str, ...]
    grid: tuple[tuple[int, ...], ...]  # grid[l][i] = 1-based level, both axes low to high
    abbreviations: dict[str, str]
    # CSS colours of the levels, by label (the pages' heat map); optional in the YAML.
    colours: dict[str, str] = field(default_factory=dict, compare=False)
    # Ratings already read, by (axis, type, value). An import reads ~36,000 ratings spelled a
    # handful of ways; the regex normalising took 1.7 s of it. Bounded: API input is open-ended.
    _parsed: dict[tuple[str, type, Any], int] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def level(self, likelihood: int, impact: int) -> int:
        """Level (1-based) for a 1-based likelihood and impact."""
        return self.grid[likelihood - 1][impact - 1]

    def parse(self, axis: str, value: Any) -> int:
        """Read a rating given as label, abbreviation or 1-based integer; raise on anything else."""
        if not isinstance(value, str | int) or isinstance(value, bool):
            return self._parse(axis, value)
        key = (axis, type(value), value)  # the type too: True == 1, but True is refused
        found = self._parsed.get(key)
        if found is None:
            found = self._parse(axis, value)
            if len(self._parsed) < PARSED_CACHE:
                self._parsed[key] = found
        return found

    def _parse(self, axis: str, value: Any) -> int:
        labels = {"likelihood": self.likelihood, "impact": self.impact, "level": self.levels}[axis]
        if isinstance(value, bool):
            raise MatrixError(f"expected one of {', '.join(labels)}, got {value!r}")
        if isinstance(value, int):
            if 1 <= value <= len(labels):
                return value
            raise MatrixError(f"expected 1 to {len(labels)}, got {value}")
        if isinstance(value, str):
            wanted = _norm(value)
            if wanted.isascii() and wanted.isdigit() and len(wanted) < 4:  # not '²'
                return self.parse(axis, int(wanted))
            by_abbrev = {_norm(k): v for k, v in self.abbreviations.items()}
            wanted = _norm(by_abbrev.get(wanted, value))
            for position, label in enumerate(labels, start=1):
                if _norm(label) == wanted:
                    return position
        raise MatrixError(f"expected one of {', '.join(labels)}, got {value!r}")

    def label(self, axis: str, position: int) -> str:
        labels = {"likelihood": self.likelihood, "impact": self.impact, "level": self.levels}[axis]
        return labels[position - 1]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "likelihood": list(self.likelihood),
            "impact": list(self.impact),
            "levels": list(self.levels),
            "grid": [[self.levels[cell - 1] for cell in row] for row in self.grid],
        }


def load_matrix(name_or_path: str) -> Matrix:
    """Load a matrix shipped in the library by name, or any YAML file by path."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} and path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        shipped = resources.files("riskatlas.library") / "matrices" / f"{name_or_path}.yaml"
        if not shipped.is_file():
            raise MatrixError(f"no matrix named {name_or_path!r} and no such YAML file")
        text = shipped.read_text(encoding="utf-8")
    return parse_matrix(yaml.safe_load(text))


def active_matrix(settings: Settings) -> Matrix:
    """The matrix the settings name (RISKATLAS_MATRIX), loaded once per process and name.

    Catalog code loads it, not the runtime: the runtime (settings, engine, sessions) sits
    below every domain package and holds none of their objects (docs/layers.md)."""
    return _loaded(settings.matrix)


@lru_cache(maxsize=16)
def _loaded(name_or_path: str) -> Matrix:
    return load_matrix(name_or_path)


def parse_matrix(doc: dict[str, Any]) -> Matrix:
    try:
        likelihood = tuple(doc["likelihood"])
        impact = tuple(doc["impact"])
        levels = tuple(doc["levels"])
        abbreviations = dict(doc.get("abbreviations") or {})
        rows = doc["rows"]
    except (KeyError, TypeError) as exc:
        raise MatrixError(f"matrix is missing {exc}") from exc
    lookup = {_norm(label): i for i, label in enumerate(levels, start=1)}
    lookup.update({_norm(k): lookup[_norm(v)] for k, v in abbreviations.items()})
    grid: list[tuple[int, ...]] = []
    for label in likelihood:  # low to high, whatever order the file lists rows in
        row = rows.get(label)
        if row is None or len(row) != len(impact):
            raise MatrixError(f"row {label!r} must list {len(impact)} levels")
        try:
            grid.append(tuple(lookup[_norm(str(cell))] for cell in row))
        except KeyError as exc:
            raise MatrixError(f"row {label!r}: unknown level {exc}") from exc
    return Matrix(
        name=str(doc.get("name", "")), likelihood=likelihood, impact=impact, levels=levels,
        grid=tuple(grid), abbreviations=abbreviations,
        colours={str(k): str(v) for k, v in (doc.get("colours") or {}).items()},
    )
