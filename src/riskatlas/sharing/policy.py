"""Which records a principal may read, as SQL conditions every read query must carry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true


@dataclass(frozen=True)
class Scope:
    """SQL conditions selecting the risks and measures a principal may see."""

    risks: ColumnElement[bool]
    measures: ColumnElement[bool]

    @classmethod
    def everything(cls) -> Scope:
        """Full access: the local operator at the command line, who holds the database itself."""
        return cls(true(), true())
