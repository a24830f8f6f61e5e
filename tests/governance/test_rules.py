"""Each adoption rule over every combination of positions of five members (5 stances, "none"
included: 3125 combinations), with the deadline passed and not, against a plain statement of
the rule written apart from riskatlas.governance.rules."""

from __future__ import annotations

import itertools

import pytest

from riskatlas.governance.rules import Rule, RuleError, check_rule, evaluate, parse_rule

MEMBERS = ("KAZ", "KGZ", "TJK", "TKM", "UZB")
STANCES = ("none", "endorse", "object", "abstain", "reserve")
COMBINATIONS = list(itertools.product(STANCES, repeat=len(MEMBERS)))


def expected(rule: str, stances: tuple[str, ...], deadline_passed: bool) -> str:
    """The rules as the issue states them, counted directly."""
    endorse = stances.count("endorse")
    objections = stances.count("object")
    silent = stances.count("none")
    everyone_spoke = silent == 0
    if rule.startswith("qualified-majority:"):
        k = int(rule.split(":")[1])
        if endorse >= k:
            return "adopted"
        could_still_endorse = 0 if deadline_passed else silent
        return "rejected" if endorse + could_still_endorse < k else "pending"
    blocking = 1 if rule == "unanimity" else 2  # objections that reject
    if objections >= blocking:
        return "rejected"
    if not (everyone_spoke or deadline_passed):
        return "pending"
    return "adopted" if endorse >= 1 else "rejected"


@pytest.mark.parametrize("rule", ["unanimity", "consensus-minus-one", "qualified-majority:1",
                                  "qualified-majority:3", "qualified-majority:5"])
@pytest.mark.parametrize("deadline_passed", [False, True])
def test_every_combination_of_five_members(rule: str, deadline_passed: bool) -> None:
    assert len(COMBINATIONS) == 3125
    seen = set()
    for combination in COMBINATIONS:
        stances = {m: s for m, s in zip(MEMBERS, combination, strict=True) if s != "none"}
        outcome = evaluate(rule, stances, MEMBERS, deadline_passed)
        assert outcome.verdict == expected(rule, combination, deadline_passed), (
            rule, combination, deadline_passed, outcome)
        assert outcome.reason
        seen.add(outcome.verdict)
    # every table reaches at least two verdicts (a constant rule would fail here)
    assert len(seen) >= 2


def test_examples_read_as_the_issue_says() -> None:
    three_and_a_reservation = {"KAZ": "endorse", "KGZ": "endorse", "TJK": "endorse",
                               "TKM": "reserve"}
    assert evaluate("unanimity", three_and_a_reservation, MEMBERS, False).verdict == "pending"
    assert evaluate("unanimity", three_and_a_reservation, MEMBERS, True).verdict == "adopted"
    assert evaluate("unanimity", {**three_and_a_reservation, "UZB": "object"}, MEMBERS,
                    False).verdict == "rejected"
    assert evaluate("consensus-minus-one", {**three_and_a_reservation, "UZB": "object"},
                    MEMBERS, False).verdict == "adopted"
    assert evaluate("qualified-majority:3", three_and_a_reservation, MEMBERS,
                    False).verdict == "adopted"
    # positions of non-members do not count
    assert evaluate("qualified-majority:1", {"SAU": "endorse"}, MEMBERS, True).verdict == \
        "rejected"


@pytest.mark.parametrize("text", ["", "majority", "qualified-majority", "qualified-majority:0",
                                  "qualified-majority:-1", "qualified-majority:x",
                                  "unanimity:2"])
def test_a_bad_rule_is_a_clear_error(text: str) -> None:
    with pytest.raises(RuleError, match="unanimity, consensus-minus-one or qualified-majority"):
        parse_rule(text)


def test_rules_read_and_checked() -> None:
    assert parse_rule(" Unanimity ") == Rule("unanimity")
    assert parse_rule("qualified-majority:4") == Rule("qualified-majority", 4)
    assert str(parse_rule("qualified-majority:4")) == "qualified-majority:4"
    with pytest.raises(RuleError, match="more endorsements than the grouping has"):
        check_rule("qualified-majority:6", 5)
