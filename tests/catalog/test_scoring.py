from riskatlas.catalog.matrix import load_matrix
from riskatlas.catalog.scoring import regional, residual

M = load_matrix("nist-800-30")


def test_only_implemented_or_evaluated_measures_lower_the_residual() -> None:
    effects = [("proposed", 4, 4), ("in_progress", 3, 3), ("agreed", 2, 2)]
    assert residual(M, 5, 5, effects) == (5, 5, 5)
    assert residual(M, 5, 5, [("implemented", 2, 1)]) == (3, 4, M.level(3, 4))


def test_the_strongest_effect_counts_and_effects_do_not_stack() -> None:
    effects = [("implemented", 1, 0), ("evaluated", 2, 1), ("implemented", 1, 1)]
    assert residual(M, 4, 4, effects)[:2] == (2, 3)


def test_residual_never_goes_below_the_lowest_level() -> None:
    assert residual(M, 2, 1, [("implemented", 4, 4)]) == (1, 1, 1)


def test_regional_rating_rules() -> None:
    ratings = [(5, 2), (2, 4), (3, 3), (4, 3)]
    assert regional(M, ratings, "max") == (5, 4, M.level(5, 4))
    assert regional(M, ratings, "median")[:2] == (4, 3)  # 3.5 rounds up, 3
    assert regional(M, ratings, "mean")[:2] == (4, 3)  # 3.5 -> 4, 3.0 -> 3
    assert regional(M, [], "max") is None
