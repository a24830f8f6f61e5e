"""One description per kind of record: its fields in export order, what each is stored as and
who sets it. The read model's select and row mapping (records), the version snapshot (checks)
and the write path's columns (service) are all driven by it, so a field is added in one place.

Field kinds:
- `plain`: a column read and written as is;
- `text`: a JSON column of texts (multilingual mappings, lists of them), read raw for orjson;
- `rating`: an integer column shown as the matrix's label of `axis`;
- `pair`: two integer columns shown as a mapping (a measure's effect);
- `org`: an organisation id column shown as that organisation's key;
- `part`: not a column of the record's table (states, sources, links...): given by the caller.
`authored`: in the version snapshot (what the owner wrote; `level` follows from it). `written`:
set from the input on a write (a `rating` such as `level` is computed by the writer instead).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import aliased

from riskatlas.catalog.matrix import Matrix
from riskatlas.catalog.models import Measure, Risk
from riskatlas.parties.models import Organisation

Kind = Literal["plain", "text", "rating", "pair", "org", "part"]
STORED = ("plain", "text", "rating", "pair", "org")


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind = "plain"
    columns: tuple[str, ...] = ()  # default: (name,); a pair's two columns
    axis: str = ""  # a rating's matrix axis
    authored: bool = True
    written: bool = True

    @property
    def stored(self) -> bool:
        return self.kind in STORED

    @property
    def column_names(self) -> tuple[str, ...]:
        return self.columns or (self.name,)


def _derived(name: str, kind: Kind = "part") -> Field:
    return Field(name, kind, authored=False, written=False)


@dataclass(frozen=True)
class Shape:
    entity: str  # "risks", "measures"
    model: Any
    fields: tuple[Field, ...]
    pair_keys: tuple[str, str] = ("likelihood", "impact")

    @property
    def derived(self) -> tuple[str, ...]:
        """Fields the catalog computes: neither in a snapshot nor written by an owner."""
        return tuple(f.name for f in self.fields if not f.authored)

    def select_columns(self, text: Callable[[Any], Any]) -> tuple[list[Any], list[Any]]:
        """The columns of the stored fields in order (`text` wraps a text column), and the
        joins their organisation keys need, as (target, on) pairs."""
        columns: list[Any] = []
        joins: list[Any] = []
        for f in self.fields:
            if f.kind == "org":
                org = aliased(Organisation)
                columns.append(org.key)
                joins.append((org, org.id == getattr(self.model, f.column_names[0])))
            elif f.kind == "text":
                columns.append(text(getattr(self.model, f.name)))
            elif f.stored:
                columns += [getattr(self.model, c) for c in f.column_names]
        return columns, joins

    def record(self, values: Iterator[Any], matrix: Matrix | None,
               text: Callable[[Any], Any], parts: Mapping[str, Any]) -> dict[str, Any]:
        """An export record from the stored fields' values (in select_columns order) and
        the caller's `parts` (every `part` field); `matrix` labels the ratings (None for a
        shape without any)."""
        out: dict[str, Any] = {}
        for f in self.fields:
            if f.kind == "part":
                out[f.name] = parts[f.name]
            elif f.kind == "text":
                out[f.name] = text(next(values))
            elif f.kind == "rating":
                assert matrix is not None, f"{self.entity}: ratings need the matrix"
                out[f.name] = matrix.label(f.axis, next(values))
            elif f.kind == "pair":
                out[f.name] = {self.pair_keys[0]: next(values), self.pair_keys[1]: next(values)}
            else:
                out[f.name] = next(values)
        return out

    def snapshot(self, given: Any, matrix: Matrix, parts: Mapping[str, Any]) -> dict[str, Any]:
        """The authored part of a record from an input schema `given`, as a version snapshot
        keeps it; `parts` overrides or adds values (the owner's key, computed ratings...)."""
        out: dict[str, Any] = {}
        for f in self.fields:
            if not f.authored:
                continue
            if f.name in parts:
                out[f.name] = parts[f.name]
            elif f.kind == "rating":
                out[f.name] = matrix.label(f.axis, getattr(given, f.name))
            elif f.kind == "pair":
                out[f.name] = getattr(given, f.name).model_dump()
            else:
                out[f.name] = getattr(given, f.name)
        return out

    def write(self, given: Any, orgs: Mapping[str, int], extra: Mapping[str, Any]
              ) -> dict[str, Any]:
        """The table's columns for an input schema `given`; `extra` adds computed columns
        and overrides (the owner's organisation with its default)."""
        out: dict[str, Any] = {}
        for f in self.fields:
            if not (f.written and f.stored):
                continue
            value = getattr(given, f.name)
            if f.kind == "pair":
                for column, part in zip(f.column_names, self.pair_keys, strict=True):
                    out[column] = getattr(value, part)
            elif f.kind == "org":
                if f.column_names[0] not in extra:
                    out[f.column_names[0]] = orgs[value]
            else:
                out[f.column_names[0]] = value
        return out | dict(extra)


RISK = Shape("risks", Risk, (
    Field("key"), Field("title", "text"), Field("summary", "text"), Field("category"),
    Field("domain"), Field("states", "part"), Field("actors", "part"),
    Field("likelihood", "rating", axis="likelihood"), Field("impact", "rating", axis="impact"),
    Field("level", "rating", axis="level", written=False),  # from likelihood and impact
    _derived("residual_level"),  # from the links the reader sees
    Field("rationale", "text"), Field("trend"), Field("horizon"), Field("drivers", "text"),
    Field("warning_signs", "text"), Field("sources", "part"),
    _derived("assessments"),  # each state writes its own (catalog.assessments)
    _derived("regional"), Field("tlp"), Field("status"),
    Field("owner", "org", columns=("owner_org_id",)), Field("sharing", "part"),
    Field("measures", "part"), Field("rejected_measures", "part"),  # the owner's decisions
    _derived("links"), Field("version", authored=False, written=False),
))

MEASURE = Shape("measures", Measure, (
    Field("key"), Field("title", "text"), Field("summary", "text"), Field("kind"),
    Field("treatment"), Field("lead", "org", columns=("lead_org_id",)),
    Field("states", "part"), Field("status"),
    Field("effect", "pair", columns=("effect_likelihood", "effect_impact")),
    Field("risks", "part"), _derived("links"), Field("start"), Field("end"),
    Field("progress"), Field("sources", "part"), Field("rationale", "text"), Field("tlp"),
    Field("owner", "org", columns=("owner_org_id",)), Field("sharing", "part"),
    Field("version", authored=False, written=False),
))
