"""Who is asking: a user of an organisation with a standing in the grouping, or nobody.

Here rather than in sharing.policy (which re-exports these names): parties builds principals
(accounts, auth) and sits below sharing in the layers (docs/layers.md), so the identity of a
caller is a parties concept that the sharing policy reads.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every standing a principal can have: a state's role (member, partner, observer), or the
# standing recorded for a body without a state (regional, partner, observer).
STATE_ROLES = ("member", "partner", "observer")
BODY_STANDINGS = ("regional", "partner", "observer")
GROUPING_ROLES = frozenset({"member", "partner", "regional"})
MEMBER_ROLES = frozenset({"member", "regional"})


@dataclass(frozen=True)
class Principal:
    """Who is asking. `standing` is the role of the user's organisation in the grouping: its
    state's role, or for a body with no state the standing recorded for it (regional for the
    secretariat, partner or observer for another grouping's body)."""

    user_id: int | None = None
    username: str | None = None
    org_id: int | None = None
    org_key: str | None = None
    role: str | None = None  # viewer | analyst | editor | admin
    standing: str | None = None
    token_scope: str | None = None  # read | write for API tokens; None for browser sessions

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    @property
    def can_write(self) -> bool:
        return (not self.anonymous and self.role in {"editor", "admin"}
                and self.token_scope in {None, "write"})


ANONYMOUS = Principal()
