"""Labels of field names, enum values and phrases by language, from labels.yaml: the terminal's
tables (riskatlas.output) and the briefing packs (riskatlas.reports) read the same file."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

# The group of labels.yaml that labels each field's values.
VALUE_LABELS = {"domain": "domain", "category": "category", "status": "status",
                "trend": "trend", "horizon": "horizon", "kind": "kind", "treatment": "treatment",
                "tlp": "tlp", "likelihood": "level", "impact": "level", "level": "level",
                "residual_level": "level"}


@lru_cache(maxsize=1)
def _labels() -> dict[str, Any]:
    source = resources.files("riskatlas.library").joinpath("labels.yaml")
    doc: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    return doc


def group(lang: str, name: str) -> dict[str, Any]:
    return (_labels().get(lang) or {}).get(name) or {}


def heading(field: str, lang: str) -> str:
    return str(group(lang, "fields").get(field, field))


def label(field: str, value: Any, lang: str) -> Any:
    """The label of an enum value of `field` in `lang`, else the value itself."""
    name = VALUE_LABELS.get(field)
    if name is None or not isinstance(value, str):
        return value
    return group(lang, name).get(value, value)


def phrase(name: str, lang: str, **values: Any) -> str:
    template = group(lang, "phrases").get(name) or group("en", "phrases")[name]
    return str(template).format(**values)
