"""The NUL check: a fast pass over the serialised value, the exact walk when it is in doubt."""

from __future__ import annotations

from typing import Any

import pytest

from riskatlas.catalog.schemas import _no_nul


@pytest.mark.parametrize("value", [
    "a\x00b", {"title": {"en": "x", "ru": "\x00"}}, [{"a": ["ok", ["deep\x00"]]}],
    {1: "int key, NUL value\x00"}, {"set": {1, 2}, "text": "NUL\x00"},  # JSON cannot hold a set
])
def test_nul_anywhere_in_text_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="NUL"):
        _no_nul(value)


@pytest.mark.parametrize("value", [
    "plain", {"en": "a literal \\u0000"}, [1, 2.5, None, True], {"bytes": b"\x00"},
    {"set": {"\x00"}}, ("tuple\x00",),  # as before: the walk looks into str, dict and list only
])
def test_values_without_nul_text_pass_unchanged(value: Any) -> None:
    assert _no_nul(value) is value
