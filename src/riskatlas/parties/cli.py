"""CLI for states, organisations, users and API tokens (registered in riskatlas.cli).

Secrets (generated passwords, tokens) are the only thing written to stdout, and only after the
transaction has committed, so a script can capture them and never captures one that was not
saved. Everything meant for a person goes to stderr.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from riskatlas.cli_options import Db, Fmt, err, fail, runtime, unit_of_work
from riskatlas.output import Format, emit
from riskatlas.parties import accounts, service

states_app = typer.Typer(help="States of the grouping and their roles.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)


class Role(StrEnum):
    viewer = "viewer"
    analyst = "analyst"
    editor = "editor"
    admin = "admin"


class TokenScope(StrEnum):
    read = "read"
    write = "write"


class StateRole(StrEnum):
    member = "member"
    partner = "partner"
    observer = "observer"


class BodyStanding(StrEnum):
    regional = "regional"
    partner = "partner"
    observer = "observer"


RoleOption = Annotated[StateRole, typer.Option(
    "--role", help="member, partner or observer: what its organisations read.")]
StandingOption = Annotated[BodyStanding, typer.Option(
    "--standing", help="For a body without a state: regional (reads as a member), partner or "
    "observer.")]


@states_app.command("add")
def states_add(
    code: Annotated[str, typer.Argument(metavar="ISO3", help="ISO 3166-1 alpha-3 code.")],
    role: RoleOption, db: Db = None,
) -> None:
    """Add a state to the grouping (named in English and Russian from ISO 3166)."""
    with unit_of_work(db, service.PartiesError) as session:
        state = service.add_state(session, code, role.value)
    err.print(f"Added state {state.code} ({state.name['en']}) as {state.role}.", highlight=False)


@states_app.command("list")
def states_list(db: Db = None, fmt: Fmt = Format.table) -> None:
    """List the states of the grouping with their names and roles."""
    with runtime(db).transaction() as session:
        rows = service.list_states(session)
    emit(rows, fmt, ("code", "name_en", "name_ru", "role"), title=f"{len(rows)} states")


@states_app.command("set")
def states_set(
    code: Annotated[str, typer.Argument(metavar="ISO3", help="ISO 3166-1 alpha-3 code.")],
    role: RoleOption, db: Db = None,
) -> None:
    """Change a state's role; its organisations read accordingly from the next request."""
    with unit_of_work(db, service.PartiesError) as session:
        state = service.set_state_role(session, code, role.value)
    err.print(f"{state.code} is now {state.role}.", highlight=False)


@orgs_app.command("add")
def orgs_add(
    name: Annotated[str, typer.Argument(help="The organisation's name.")],
    key: Annotated[str | None, typer.Option(
        "--key", help="Its key (letters, digits, - _ .; stored upper-case). Default: made from "
        "the name, e.g. MINISTRY-OF-EMERGENCIES.")] = None,
    state: Annotated[str | None, typer.Option(
        "--state", help="ISO 3166-1 alpha-3 code of its state (see: states list).")] = None,
    standing: Annotated[BodyStanding | None, typer.Option(
        "--standing", help="For a body without a state, instead of --state: regional, "
        "partner or observer.")] = None,
    db: Db = None,
) -> None:
    """Add an organisation: of a state (--state), or a body without one (--standing)."""
    if (state is None) == (standing is None):
        fail("give exactly one of --state ISO3 (an organisation of a state) and --standing "
             "regional|partner|observer (a body without a state)", 2)
    with unit_of_work(db, service.PartiesError) as session:
        org = service.add_organisation(session, name, state=state, key=key,
                                       standing=standing.value if standing else None)
    where = f"state {org.state_code}" if org.state_code else f"standing {org.standing}"
    err.print(f"Added organisation {org.key} ({where}).", highlight=False)


@orgs_app.command("set")
def orgs_set(
    key: Annotated[str, typer.Argument(help="The organisation's key (see: orgs list).")],
    standing: StandingOption, db: Db = None,
) -> None:
    """Change the standing of a body without a state (a state's organisations: states set)."""
    with unit_of_work(db, service.PartiesError) as session:
        org = service.set_standing(session, key, standing.value)
    err.print(f"{org.key} now has the standing {org.standing}.", highlight=False)


@orgs_app.command("list")
def orgs_list(db: Db = None, fmt: Fmt = Format.table) -> None:
    """List organisations with their state and standing in the grouping."""
    with runtime(db).transaction() as session:
        rows = service.list_organisations(session)
    emit(rows, fmt, ("key", "name", "state", "standing"), title=f"{len(rows)} organisations")


@users_app.command("add")
def users_add(
    username: str,
    org: Annotated[str, typer.Option("--org", help="Organisation (see: orgs list).")],
    role: Annotated[Role, typer.Option("--role", help="What the user may do.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin; "
        "without it a random password is generated and printed once.")] = False,
    db: Db = None,
) -> None:
    """Add a user to an organisation."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on stdin")
    with unit_of_work(db, accounts.AccountError) as session:
        _, generated = accounts.add_user(session, username, org, role.value, password)
    err.print(f"Added user {username} ({role.value}) to {org}.", highlight=False)
    if generated is not None:
        err.print("Its password, shown this once:")
        sys.stdout.write(generated + "\n")


@users_app.command("list")
def users_list(db: Db = None, fmt: Fmt = Format.table) -> None:
    """List users."""
    with runtime(db).transaction() as session:
        rows = accounts.list_users(session)
    emit(rows, fmt, ("username", "org", "role", "active", "created_at"),
         title=f"{len(rows)} users")


@users_app.command("disable")
def users_disable(username: str, db: Db = None) -> None:
    """Disable a user: no more sign-ins; open sessions and API tokens stop working."""
    with unit_of_work(db, accounts.AccountError) as session:
        accounts.disable_user(session, username)
    err.print(f"Disabled user {username}.", highlight=False)


@tokens_app.command("create")
def tokens_create(
    username: str,
    scope: Annotated[TokenScope, typer.Option("--scope", help="read, or write too.")]
    = TokenScope.read,
    days: Annotated[int | None, typer.Option(
        "--days", help="Lifetime in days (default: RISKATLAS_TOKEN_DAYS).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="What the token is for.")] = None,
    db: Db = None,
) -> None:
    """Create an API token and print it (only it) on stdout. It cannot be shown again."""
    rt = runtime(db)
    days = rt.settings.token_days if days is None else days
    with rt.transaction() as session:
        try:
            token = accounts.create_token(session, username, scope.value, days, name)
        except accounts.AccountError as exc:
            fail(str(exc))
    err.print(f"Created a {scope.value} token for {username}, valid {days} days "
              "(shown this once).", highlight=False)
    sys.stdout.write(token + "\n")


@tokens_app.command("list")
def tokens_list(
    username: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    db: Db = None, fmt: Fmt = Format.table,
) -> None:
    """List tokens: prefix, scope, expiry and revocation; never the tokens themselves."""
    with unit_of_work(db, accounts.AccountError) as session:
        rows = accounts.list_tokens(session, username)
    emit(rows, fmt, ("id", "user", "prefix", "name", "scope", "expires_at", "last_used_at",
                     "revoked_at"), title=f"{len(rows)} tokens")


@tokens_app.command("revoke")
def tokens_revoke(
    ref: Annotated[str, typer.Argument(metavar="PREFIX_OR_ID",
                                       help="The prefix shown by `tokens list`, or the id.")],
    db: Db = None,
) -> None:
    """Revoke a token; it stops working at once."""
    with unit_of_work(db, accounts.AccountError) as session:
        token = accounts.revoke_token(session, ref)
    err.print(f"Revoked token {token.prefix} (id {token.id}).", highlight=False)
