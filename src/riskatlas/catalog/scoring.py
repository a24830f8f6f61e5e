"""Inherent, residual and regional ratings.

Residual rule: only measures whose status is `implemented` or `evaluated` count. Their effects do
not add up: on each axis the strongest single effect lowers the inherent rating by that many
levels, never below the lowest level. Adding effects would credit overlapping measures twice;
the strongest-effect rule is the conservative reading of ISO 31000 treatment.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from riskatlas.catalog.matrix import Matrix

EFFECTIVE_STATUSES = frozenset({"implemented", "evaluated"})
MAX_EFFECT = 4  # levels a measure may lower an axis by (schemas.Effect)


def residual(
    matrix: Matrix, likelihood: int, impact: int, effects: Iterable[tuple[str, int, int]]
) -> tuple[int, int, int]:
    """Residual (likelihood, impact, level) from (status, effect_likelihood, effect_impact)."""
    active = [(el, ei) for status, el, ei in effects if status in EFFECTIVE_STATUSES]
    drop_l = max((el for el, _ in active), default=0)
    drop_i = max((ei for _, ei in active), default=0)
    res_l = max(1, likelihood - drop_l)
    res_i = max(1, impact - drop_i)
    return res_l, res_i, matrix.level(res_l, res_i)


def _combine(values: Sequence[int], rule: str) -> int:
    if rule == "max":
        return max(values)
    if rule == "median":
        value = statistics.median(values)
    elif rule == "mean":
        value = statistics.fmean(values)
    else:
        raise ValueError(f"unknown aggregation rule {rule!r}")
    return int(value + 0.5)  # halves round up: a split view errs on the side of caution


def regional(
    matrix: Matrix, ratings: Sequence[tuple[int, int]], rule: str
) -> tuple[int, int, int] | None:
    """Regional (likelihood, impact, level) from national (likelihood, impact) ratings."""
    if not ratings:
        return None
    lik = _combine([r[0] for r in ratings], rule)
    imp = _combine([r[1] for r in ratings], rule)
    return lik, imp, matrix.level(lik, imp)
