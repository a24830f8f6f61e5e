"""Adoption rules: pure functions from the members' current positions to a verdict.

A grouping keeps its rule as text (`parties.models.Grouping.adoption_rule`):

- `unanimity` (the default): adopted when no member objects, at least one endorses, and every
  member has taken a position or the deadline has passed; rejected on any objection.
- `consensus-minus-one`: the same, but one objection does not block; two or more reject.
- `qualified-majority:K`: adopted once at least K members endorse; rejected once K can no
  longer be reached (the endorsements plus the members still without a position, who may no
  longer take one once the deadline has passed, are fewer than K).

`reserve` is a position that does not object: the proposal may be adopted, and the reservation
is recorded next to the adopted record. `abstain` is a position that neither endorses nor
objects. A member without a position has not spoken; positions of non-members are ignored.

Under the two consensus rules, a proposal on which every member has spoken (or whose deadline
has passed) with no endorsement at all is rejected: nothing could adopt it any more without a
member changing its position, and a decision is the moment positions stop changing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RULE_NAMES = ("unanimity", "consensus-minus-one", "qualified-majority:K")
VERDICTS = ("adopted", "rejected", "pending")
_QUALIFIED = re.compile(r"qualified-majority:([0-9]{1,4})")


class RuleError(ValueError):
    """An adoption rule that cannot be read."""


@dataclass(frozen=True)
class Rule:
    name: str  # unanimity | consensus-minus-one | qualified-majority
    k: int | None = None  # the endorsements a qualified majority needs

    def __str__(self) -> str:
        return f"{self.name}:{self.k}" if self.k is not None else self.name


@dataclass(frozen=True)
class Outcome:
    verdict: str  # adopted | rejected | pending
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"verdict": self.verdict, "reason": self.reason}


def parse_rule(text: str | None) -> Rule:
    """The rule a grouping's text names (RuleError, saying what is accepted, otherwise)."""
    raw = (text or "").strip().lower()
    if raw in {"unanimity", "consensus-minus-one"}:
        return Rule(raw)
    match = _QUALIFIED.fullmatch(raw)
    if match is not None and int(match.group(1)) >= 1:
        return Rule("qualified-majority", int(match.group(1)))
    raise RuleError(f"adoption rule: expected unanimity, consensus-minus-one or "
                    f"qualified-majority:K (K a whole number, at least 1), got {text!r}")


def check_rule(text: str, members: int) -> Rule:
    """A rule as a grouping of `members` member states may set it: a qualified majority
    cannot ask for more endorsements than there are members."""
    rule = parse_rule(text)
    if rule.k is not None and rule.k > members:
        raise RuleError(f"adoption rule: qualified-majority:{rule.k} needs more endorsements "
                        f"than the grouping has member states ({members})")
    return rule


def evaluate(rule: Rule | str, stances: Mapping[str, str], members: Sequence[str],
             deadline_passed: bool) -> Outcome:
    """The verdict of `rule` on the members' current `stances` (state code -> endorse,
    object, abstain or reserve; a member absent has taken no position)."""
    if isinstance(rule, str):
        rule = parse_rule(rule)
    current = {m: stances[m] for m in members if m in stances}
    endorse = sum(1 for s in current.values() if s == "endorse")
    objections = sorted(m for m, s in current.items() if s == "object")
    silent = len(members) - len(current)
    counts = (f"{endorse} endorse, {len(objections)} object, "
              f"{sum(1 for s in current.values() if s == 'reserve')} reserve, "
              f"{sum(1 for s in current.values() if s == 'abstain')} abstain, "
              f"{silent} without a position")
    if rule.name == "qualified-majority":
        k = rule.k or 0
        if endorse >= k:
            return Outcome("adopted", f"{endorse} of {len(members)} endorse (at least {k} "
                           f"needed): {counts}")
        reachable = endorse + (0 if deadline_passed else silent)
        if reachable < k:
            return Outcome("rejected", f"{k} endorsements can no longer be reached: {counts}")
        return Outcome("pending", f"{endorse} of the {k} endorsements needed so far: {counts}")
    allowed = 0 if rule.name == "unanimity" else 1
    if len(objections) > allowed:
        return Outcome("rejected", f"objected to by {', '.join(objections)} ({rule}): {counts}")
    complete = silent == 0 or deadline_passed
    if not complete:
        return Outcome("pending", f"waiting for {silent} member(s) to take a position "
                       f"({rule}): {counts}")
    if endorse == 0:
        why = "the deadline has passed" if silent else "every member has a position"
        return Outcome("rejected", f"no member endorsed it and {why} ({rule}): {counts}")
    why = "every member has a position" if silent == 0 else "the deadline has passed"
    return Outcome("adopted", f"{why}, no blocking objection ({rule}): {counts}")
