"""Input shapes of parties: the keys of organisations (and of sharing groups)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field


def upper_code(value: Any) -> Any:
    """A code as stored: trimmed and upper-cased."""
    return value.strip().upper() if isinstance(value, str) else value


# An organisation's key, as catalog records name it too (owner, lead, sharing grants): here
# because parties sits below the catalog in the layers (docs/layers.md).
Code = Annotated[str, BeforeValidator(upper_code), Field(min_length=1, max_length=64)]
