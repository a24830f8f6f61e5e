"""Indicator definitions: YAML files validated with pydantic, each indicator tied to catalog
risks by key, with a filter over events, a measure, a period, a geography level and a detector.

A file is a mapping with one key, `indicators`, holding a list (docs/early-warning.md shows the
format). Every problem of a file is reported at once as `file:line: indicator KEY: field:
reason`, and nothing is returned unless the whole file is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pycountry
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from riskatlas.warning import places
from riskatlas.warning.detectors import DETECTORS, params_model
from riskatlas.warning.periods import PeriodKind

Measure = Literal["events", "fatalities", "locations"]
Level = Literal["country", "admin1"]
REGEX_PREFIX = "re:"
_KEY = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Title(_Strict):
    en: str = Field(min_length=1)
    ru: str = Field(min_length=1)


class EventFilter(_Strict):
    """Which events count. Each list left empty matches everything; values within a list are
    alternatives (any of them), lists combine with AND. Countries are ISO3 codes; event
    types and sub-types match exactly, ignoring case; admin1 names by `places.key` (case,
    accents, punctuation and kind words such as "province" set aside). An actor pattern is a
    case-insensitive substring of actor1 or actor2, or a regular expression when it starts
    with `re:` (searched, case-insensitive)."""

    countries: tuple[str, ...] = ()
    admin1: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    sub_types: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()

    @field_validator("countries")
    @classmethod
    def _iso3(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        for code in codes:
            if not re.fullmatch(r"[A-Z]{3}", code) or pycountry.countries.get(alpha_3=code) is None:
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-3 country code")
        return codes

    @field_validator("admin1", "event_types", "sub_types", "actors")
    @classmethod
    def _not_blank(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if any(not v.strip() for v in values):
            raise ValueError("empty value in the list")
        return values

    @field_validator("actors")
    @classmethod
    def _patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            if pattern.startswith(REGEX_PREFIX):
                try:
                    re.compile(pattern[len(REGEX_PREFIX):], re.IGNORECASE)
                except re.error as exc:
                    raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return patterns

    @cached_property
    def matcher(self) -> EventMatcher:
        return EventMatcher.of(self)


@dataclass(frozen=True, slots=True)
class EventMatcher:
    """The filter compiled once: lower-cased sets and one regular expression for the actors."""

    countries: frozenset[str]
    admin1: frozenset[str]
    event_types: frozenset[str]
    sub_types: frozenset[str]
    actors: re.Pattern[str] | None

    @classmethod
    def of(cls, f: EventFilter) -> EventMatcher:
        parts = [p[len(REGEX_PREFIX):] if p.startswith(REGEX_PREFIX) else re.escape(p)
                 for p in f.actors]
        return cls(frozenset(f.countries), frozenset(places.key(a) for a in f.admin1),
                   frozenset(t.casefold() for t in f.event_types),
                   frozenset(t.casefold() for t in f.sub_types),
                   re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)
                   if parts else None)

    def __call__(self, country: str, admin1: str | None, event_type: str | None,
                 sub_type: str | None, actor1: str | None, actor2: str | None) -> bool:
        if self.countries and country not in self.countries:
            return False
        if self.admin1 and places.key(admin1) not in self.admin1:
            return False
        if self.event_types and (event_type or "").casefold() not in self.event_types:
            return False
        if self.sub_types and (sub_type or "").casefold() not in self.sub_types:
            return False
        return self.actors is None or bool(
            self.actors.search(actor1 or "") or self.actors.search(actor2 or ""))


class DetectorSpec(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in DETECTORS:
            raise ValueError(f"unknown detector {name!r}: one of {', '.join(sorted(DETECTORS))}")
        return name


class Indicator(_Strict):
    key: str = Field(pattern=_KEY)
    title: Title
    risks: tuple[str, ...] = Field(min_length=1)
    filter: EventFilter = Field(default_factory=EventFilter)
    measure: Measure = "events"
    period: PeriodKind = "week"
    level: Level = "admin1"
    detector: DetectorSpec
    notes: str = ""

    @field_validator("risks")
    @classmethod
    def _risk_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        for key in keys:
            if not re.fullmatch(r"[A-Z]{2,8}(-[A-Z0-9]{2,8})+", key):
                raise ValueError(f"{key!r} is not a catalog risk key (like CA-BRD-001)")
        return keys


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    indicator: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: indicator {self.indicator}: {self.field}: {self.reason}"


class IndicatorError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _lines(text: str) -> dict[tuple[Any, ...], int]:
    """Line of the `indicators` list and of every node under it, keyed by their path."""
    out: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return out

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                out[(*path, key.value)] = key.start_mark.line + 1
                walk(value, (*path, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                out[(*path, i)] = value.start_mark.line + 1
                walk(value, (*path, i))

    if root is not None:
        walk(root, ())
    return out


def parse_indicators(text: str, name: str, known_risks: set[str] | None = None,
                     ) -> list[Indicator]:
    """Validate the YAML `text` of file `name`; `known_risks`, when given, are the catalog's
    risk keys and every key an indicator names must be one of them."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise IndicatorError([Problem(name, line, "-", "-", f"not valid YAML: {exc}")]) from None
    lines = _lines(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("indicators"), list) or (
            set(doc) - {"indicators"}):
        raise IndicatorError([Problem(name, 1, "-", "indicators",
                                      "the file must be a mapping with one key, `indicators`, "
                                      "holding a list")])
    problems: list[Problem] = []
    found: list[Indicator] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(doc["indicators"]):
        line = lines.get(("indicators", i), 1)
        key = str(raw.get("key", f"#{i + 1}")) if isinstance(raw, dict) else f"#{i + 1}"
        errors: list[tuple[tuple[Any, ...], str]] = []
        indicator: Indicator | None = None
        try:
            indicator = Indicator.model_validate(raw)
        except ValidationError as exc:
            errors += [(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
        params = _detector_params(raw, errors)
        for loc, msg in errors:
            at = _deepest(lines, ("indicators", i, *loc)) or line
            problems.append(Problem(name, at, key, ".".join(str(p) for p in loc) or "-",
                                    msg.removeprefix("Value error, ")))
        if indicator is None or params is None:
            continue
        indicator = indicator.model_copy(
            update={"detector": DetectorSpec(name=indicator.detector.name, params=params)})
        if key in seen:
            problems.append(Problem(name, line, key, "key",
                                    f"duplicate key (first at line {seen[key]})"))
        seen.setdefault(key, line)
        for j, risk in enumerate(indicator.risks):
            if known_risks is not None and risk not in known_risks:
                at = lines.get(("indicators", i, "risks", j), line)
                problems.append(Problem(name, at, key, f"risks.{j}",
                                        f"{risk} is not a risk of the catalog"))
        found.append(indicator)
    if problems:
        raise IndicatorError(problems)
    return found


def _detector_params(raw: Any, errors: list[tuple[tuple[Any, ...], str]],
                     ) -> dict[str, Any] | None:
    """The detector's parameters validated against its signature (`params_model`), or None
    with the problems added to `errors`."""
    spec = raw.get("detector") if isinstance(raw, dict) else None
    if not isinstance(spec, dict) or spec.get("name") not in DETECTORS:
        return None
    params = spec.get("params", {})
    try:
        return params_model(spec["name"]).model_validate(params).model_dump()
    except ValidationError as exc:
        errors += [(("detector", "params", *e["loc"]), e["msg"]) for e in exc.errors()]
        return None


def _deepest(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def load_indicators(path: Path, known_risks: set[str] | None = None) -> list[Indicator]:
    """Read and validate one indicator file (see `parse_indicators`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IndicatorError([Problem(str(path), 0, "-", "-", f"cannot read: {exc}")]) from None
    return parse_indicators(text, str(path), known_risks)


def default_indicator_file() -> Path:
    from importlib import resources

    return Path(str(resources.files("riskatlas.library") / "indicators" / "central-asia.yaml"))
