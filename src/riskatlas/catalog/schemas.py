"""Input and output shapes of catalog records (the export contract is the output shape)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from riskatlas.catalog.files import NESTING_LIMIT, TOO_DEEP
from riskatlas.catalog.matrix import Matrix, MatrixError
from riskatlas.catalog.scoring import MAX_EFFECT
from riskatlas.catalog.spreadsheets import cell_length
from riskatlas.parties.schemas import Code
from riskatlas.parties.schemas import upper_code as _code

Category = Literal["traditional", "emerging", "hybrid"]
Domain = Literal[
    "terrorism", "trafficking", "borders", "water_energy", "afghanistan", "unrest", "cyber",
    "information", "climate", "health", "economic", "cbrn", "migration",
]
DOMAINS: tuple[str, ...] = get_args(Domain)
Trend = Literal["rising", "stable", "falling", "unknown"]
Horizon = Literal["short", "medium", "long"]
Tlp = Literal["clear", "green", "amber", "amber+strict", "red"]
RiskStatus = Literal["draft", "proposed", "adopted", "retired"]
MeasureKind = Literal["prevention", "preparedness", "mitigation", "response", "recovery"]
Treatment = Literal["avoid", "reduce", "share", "retain"]
MeasureStatus = Literal[
    "proposed", "agreed", "in_progress", "implemented", "evaluated", "abandoned", "retired"
]
ActorKind = Literal[
    "state", "non_state_armed_group", "criminal_network", "de_facto_authority",
    "organisation", "other",
]

REQUIRED_LANGUAGES = ("en", "ru")

# Limits every door and every format shares (docs/catalog-format.md, "Limits"): the API, the CLI
# and each file format refuse the same input with the same message. A text fits one workbook
# cell (Excel holds 32,767 characters; the rest is room for a formula guard), so whatever is
# accepted also comes back through an XLSX export and import.
TEXT_LIMIT = 32_000
URL_LIMIT = 2_048
LANGUAGE_LIMIT = 16  # languages of one text: each is a column of a spreadsheet
MANY_STATES = 250  # every ISO 3166-1 code, and then some
MANY_KEYS = 500  # actors, measures or risks a record names
MANY_TEXTS = 50  # drivers, warning signs, sources
MANY_GRANTS = 100  # sharing groups, organisations or users of one record
# Below this many characters no text can pass TEXT_LIMIT in a workbook cell (an escape there
# takes 7), so only longer ones are measured.
_SURELY_SHORT = TEXT_LIMIT // 7
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def _lower(value: Any) -> Any:
    """Enum values are matched without regard to case, spaces or hyphens ('In progress')."""
    return _lower_text(value) if isinstance(value, str) else value


# The caches below hold results of pure functions of short, much repeated values (enum
# spellings, language codes, dates): a 40,000-record import calls each of them 60,000 to
# 180,000 times with a few hundred distinct values.
@lru_cache(maxsize=1024)
def _lower_text(value: str) -> str:
    text = value.strip().lower()
    return text if text == "amber+strict" else re.sub(r"[\s\-]+", "_", text)


@lru_cache(maxsize=256)
def _is_language(code: str) -> bool:
    return _LANG.match(code) is not None


def too_long(text: str) -> str | None:
    """Why a text is beyond TEXT_LIMIT, or None: the one rule for every text of a record."""
    if len(text) <= _SURELY_SHORT:
        return None
    length = cell_length(text)
    if length <= TEXT_LIMIT:
        return None
    escapes = "" if length == len(text) else (
        f" ({len(text):,} as typed: a workbook writes a carriage return or control character "
        "as 7, _x000D_)")
    return (f"{length:,} characters{escapes}; a text holds at most {TEXT_LIMIT:,} (what one "
            "spreadsheet cell carries)")


def _bounded(text: str) -> str:
    reason = too_long(text)
    if reason is not None:
        raise ValueError(reason)
    return text


def _text(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping of language code to text, e.g. {en: ..., ru: ...}")
    if len(value) > LANGUAGE_LIMIT:
        raise ValueError(f"{len(value)} languages: a text has at most {LANGUAGE_LIMIT}")
    out: dict[str, str] = {}
    for lang, text in value.items():
        if not isinstance(lang, str) or not _is_language(lang):
            raise ValueError(f"{lang!r} is not a language code")
        if not isinstance(text, str):
            raise ValueError(f"{lang}: expected text, got {type(text).__name__}")
        reason = too_long(text.strip())
        if reason is not None:
            raise ValueError(f"{lang}: {reason}")
        if text.strip():
            out[lang] = text.strip()
    missing = [lang for lang in REQUIRED_LANGUAGES if lang not in out]
    if missing:
        raise ValueError(f"missing text in {', '.join(missing)}")
    return out


def partial_date(value: Any) -> str:
    """A date at the precision known: YYYY, YYYY-MM or YYYY-MM-DD, checked for real."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a date as YYYY-MM-DD, YYYY-MM or YYYY, got {value!r}")
    return _partial_date_text(value)


@lru_cache(maxsize=4096)
def _partial_date_text(value: str) -> str:
    match = _PARTIAL_DATE.match(value.strip())
    if not match:
        raise ValueError(f"expected a date as YYYY-MM-DD, YYYY-MM or YYYY, got {value!r}")
    year, month, day = match.groups()
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a real date ({exc})") from None
    return value.strip()


Text = Annotated[dict[str, str], BeforeValidator(_text)]
PartialDate = Annotated[str, BeforeValidator(partial_date)]
StateCode = Annotated[str, BeforeValidator(_code), Field(pattern=r"^[A-Z]{3}$")]
Key = Annotated[str, BeforeValidator(_code), Field(pattern=r"^[A-Z0-9][A-Z0-9\-_.]{0,31}$")]


BoundedText = Annotated[str, AfterValidator(_bounded)]
UserName = Annotated[str, Field(min_length=1, max_length=64)]  # as parties.models.User


def _json_size_bound(value: Any) -> int:
    """An upper bound on the characters of `value` written as JSON: a character of a text is at
    most 6 there (\\u001f), anything else at most 24 (a number, null, brackets, separators)."""
    if isinstance(value, str):
        return 6 * len(value) + 4
    if isinstance(value, BaseModel):
        value = value.__dict__
    if isinstance(value, dict):
        return sum(_json_size_bound(k) + _json_size_bound(v) for k, v in value.items()) + 4
    if isinstance(value, list):
        return sum(_json_size_bound(v) for v in value) + 4
    return 24


def _one_cell(values: list[Any]) -> list[Any]:
    """A list a spreadsheet writes as one JSON cell (drivers, sources, ...) fits that cell."""
    if _json_size_bound(values) <= TEXT_LIMIT:  # nearly always: no need to write it out
        return values
    plain = [v.model_dump() if isinstance(v, BaseModel) else v for v in values]
    length = cell_length(json.dumps(plain, ensure_ascii=False))
    if length > TEXT_LIMIT:
        raise ValueError(f"{length:,} characters as JSON; a spreadsheet writes this list in one "
                         f"cell, which holds at most {TEXT_LIMIT:,} (shorten the texts)")
    return values


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(value)
    return values


def _no_nul(value: Any) -> Any:
    """Refuse NUL characters, lone surrogates (text that is not Unicode: PostgreSQL and SQLite
    cannot store it) and nesting deeper than NESTING_LIMIT (what a file may nest; a JSON body
    may be nested some 900 deep)."""
    try:
        dumped: bytes | None = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # a set, bytes, a surrogate, or too deep for orjson: let the walk decide
        dumped = None
    # A fast first pass: orjson writes a NUL in any string as \\u0000, in C. Walking every
    # string in Python took 3 s of a 40,000-record import; now only a suspect value is walked.
    if dumped is None or b"\\u0000" in dumped or (
            dumped.count(b"[") + dumped.count(b"{") > NESTING_LIMIT):
        _walk_checked(value)
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _walk_checked(value: Any) -> None:
    """Walk a value without recursion (it may be nested ~900 deep, or contain itself)."""
    stack: list[tuple[Any, int, Any]] = [(value, 0, None)]
    while stack:
        item, depth, field = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError("text must not contain NUL characters")
            found = _SURROGATE.search(item)
            if found:
                raise ValueError(f"text must be Unicode: it holds a lone surrogate "
                                 f"(U+{ord(found.group()):04X})")
        elif isinstance(item, dict | list):  # (sets and tuples: no JSON, no text to store)
            if depth >= NESTING_LIMIT:
                raise ValueError(TOO_DEEP if field is None else f"{field}: {TOO_DEEP}")
            if isinstance(item, dict):
                stack += [(key, depth + 1, field) for key in item]
                stack += [(v, depth + 1, key if field is None else field)
                          for key, v in item.items()]
            else:
                stack += [(child, depth + 1, field) for child in item]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        return _no_nul(data)


class SourceIn(_In):
    title: BoundedText = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$", max_length=URL_LIMIT)
    published: PartialDate
    publisher: BoundedText | None = None


class SharingIn(_In):
    """Grants on a record: sharing groups (AMBER), organisations (AMBER+STRICT), users (RED)."""

    groups: Annotated[list[Code], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MANY_GRANTS)
    orgs: Annotated[list[Code], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MANY_GRANTS)
    users: Annotated[list[UserName], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MANY_GRANTS)


class ActorIn(_In):
    key: Key
    name: Text
    kind: Annotated[ActorKind, BeforeValidator(_lower)]


def _rating(axis: str) -> Callable[[Any, ValidationInfo], int]:
    def check(value: Any, info: ValidationInfo) -> int:
        matrix: Matrix | None = (info.context or {}).get("matrix")
        if matrix is None:
            raise ValueError("no risk matrix in validation context")
        try:
            return matrix.parse(axis, value)
        except MatrixError as exc:
            raise ValueError(str(exc)) from None

    return check


class AssessmentIn(_In):
    state: StateCode
    likelihood: int
    impact: int
    rationale: Text
    # The assessment's own version as exported: a file that carries an older one is stale.
    version: int | None = None

    _likelihood = field_validator("likelihood", mode="before")(_rating("likelihood"))
    _impact = field_validator("impact", mode="before")(_rating("impact"))


class RecordIn(_In):
    """What risks and measures share: a key, texts, the states concerned, and who owns and
    sees the record. (Sources differ: a risk needs at least one, a measure may have none.)"""

    key: Key
    title: Text
    summary: Text
    states: Annotated[list[StateCode], AfterValidator(_unique)] = Field(
        min_length=1, max_length=MANY_STATES)
    tlp: Annotated[Tlp, BeforeValidator(_lower)] = "clear"
    owner: Code | None = None
    sharing: SharingIn = Field(default_factory=SharingIn)
    links: Any = None  # derived on export (each link's status); read back unchanged
    version: int | None = None


class RiskIn(RecordIn):
    category: Annotated[Category, BeforeValidator(_lower)]
    domain: Annotated[Domain, BeforeValidator(_lower)]
    actors: Annotated[list[Key], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MANY_KEYS)
    likelihood: int
    impact: int
    rationale: Text
    trend: Annotated[Trend, BeforeValidator(_lower)] = "unknown"
    horizon: Annotated[Horizon | None, BeforeValidator(_lower)] = None
    drivers: Annotated[list[Text], AfterValidator(_one_cell)] = Field(
        default_factory=list, max_length=MANY_TEXTS)
    warning_signs: Annotated[list[Text], AfterValidator(_one_cell)] = Field(
        default_factory=list, max_length=MANY_TEXTS)
    sources: Annotated[list[SourceIn], AfterValidator(_one_cell)] = Field(
        min_length=1, max_length=MANY_TEXTS)
    # Each state writes its own, so together they are not bounded by one cell (see the docs).
    assessments: list[AssessmentIn] = Field(default_factory=list, max_length=MANY_STATES)
    status: Annotated[RiskStatus, BeforeValidator(_lower)] = "draft"
    # The risk's owner decides its links: measures it accepted (they count in the residual
    # rating) and measures it rejected. Links others proposed stay pending until then.
    measures: Annotated[list[Key], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MANY_KEYS)
    rejected_measures: Annotated[list[Key], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MANY_KEYS)
    # Derived on export; accepted on import so an export reads back unchanged.
    level: Any = None
    residual_level: Any = None
    regional: Any = None

    _likelihood = field_validator("likelihood", mode="before")(_rating("likelihood"))
    _impact = field_validator("impact", mode="before")(_rating("impact"))


class Effect(_In):
    likelihood: int = Field(0, ge=0, le=MAX_EFFECT)
    impact: int = Field(0, ge=0, le=MAX_EFFECT)


class MeasureIn(RecordIn):
    kind: Annotated[MeasureKind, BeforeValidator(_lower)]
    treatment: Annotated[Treatment, BeforeValidator(_lower)]
    lead: Code
    status: Annotated[MeasureStatus, BeforeValidator(_lower)]
    effect: Effect
    risks: Annotated[list[Key], AfterValidator(_unique)] = Field(
        min_length=1, max_length=MANY_KEYS)
    start: PartialDate | None = None
    end: PartialDate | None = None
    progress: int | None = Field(None, ge=0, le=100)
    sources: Annotated[list[SourceIn], AfterValidator(_one_cell)] = Field(
        default_factory=list, max_length=MANY_TEXTS)
    # What the measure builds on when no source says it (e.g. "extends M-x to ...").
    rationale: Text | None = None


# --- Output shapes (the export contract), for the OpenAPI description -------------------------


T = TypeVar("T")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceOut(_Out):
    title: str
    url: str
    published: str
    publisher: str | None


class AssessmentOut(_Out):
    state: str
    likelihood: str
    impact: str
    rationale: dict[str, str]
    version: int


class RegionalOut(_Out):
    likelihood: str
    impact: str
    level: str
    rule: str


class SharingOut(_Out):
    groups: list[str]
    orgs: list[str]
    users: list[str]


class RiskLinkOut(_Out):
    measure: str
    status: Literal["pending", "accepted", "rejected"]


class MeasureLinkOut(_Out):
    risk: str
    status: Literal["pending", "accepted", "rejected"]


class RiskOut(_Out):
    key: str
    title: dict[str, str]
    summary: dict[str, str]
    category: str
    domain: str
    states: list[str]
    actors: list[str]
    likelihood: str
    impact: str
    level: str
    residual_level: str
    rationale: dict[str, str]
    trend: str
    horizon: str | None
    drivers: list[dict[str, str]]
    warning_signs: list[dict[str, str]]
    sources: list[SourceOut]
    assessments: list[AssessmentOut]
    regional: RegionalOut | None
    tlp: str
    status: str
    owner: str
    sharing: SharingOut
    measures: list[str]
    rejected_measures: list[str]
    links: list[RiskLinkOut]
    version: int


class EffectOut(_Out):
    likelihood: int
    impact: int


class MeasureOut(_Out):
    key: str
    title: dict[str, str]
    summary: dict[str, str]
    kind: str
    treatment: str
    lead: str
    states: list[str]
    status: str
    effect: EffectOut
    risks: list[str]
    links: list[MeasureLinkOut]
    start: str | None
    end: str | None
    progress: int | None
    sources: list[SourceOut]
    rationale: dict[str, str] | None
    tlp: str
    owner: str
    sharing: SharingOut
    version: int


class Page(_Out, Generic[T]):
    total: int
    limit: int
    offset: int
    items: list[T]


RiskPage = Page[RiskOut]
MeasurePage = Page[MeasureOut]


class VersionOut(_Out):
    version: int
    change: str
    changed_at: str
    changed_by: str | None
    data: dict[str, Any]
    diff: str


class ProblemOut(_Out):
    field: str
    reason: str


class ErrorOut(_Out):
    code: str
    message: str
    problems: list[ProblemOut] | None = None
