"""Options and helpers shared by the CLI modules, declared once.

riskatlas.cli imports the domain CLIs (parties.cli, ...), so those cannot import riskatlas.cli;
they import from here instead, and riskatlas.cli may do the same.

This module also holds the local operator's capability to read everything (`operator_scope`):
a command run without --as acts as someone holding the database file. It is made here once, and
no module of the web side imports this one (tests/test_layers.py), so no request can have it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session
from typer.core import TyperGroup

from riskatlas.audit.service import Who
from riskatlas.output import Format
from riskatlas.runtime import Runtime, make_runtime
from riskatlas.sharing.policy import FullAccess, Principal, Scope, scope_for

err = Console(stderr=True)


class Commands(TyperGroup):
    """The top-level command group: turns the failures a user can cause from outside the
    program (a database URL that does not parse or cannot be opened, a file that cannot be
    written) into a clear message and exit status 2 instead of a traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer's own copy of click.Context
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        from riskatlas.migrate import MigrationFailed

        try:
            return super().invoke(ctx)
        except MigrationFailed as exc:  # `init` migrates too; `db upgrade` says more itself
            fail(f"upgrade failed: {exc}")
        except ArgumentError as exc:
            fail(f"--db: not a database URL ({exc})", 2)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            fail(f"cannot use the database: {reason}", 2)
        except OSError as exc:
            fail(str(exc), 2)

Db = Annotated[str | None, typer.Option("--db", help="Database URL (default: "
                                        "RISKATLAS_DATABASE_URL or sqlite:///riskatlas.db).")]
Fmt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
Lang = Annotated[str, typer.Option("--lang", help="Language of texts in tables (en, ru, ...).")]
Many = Annotated[list[str] | None, typer.Option(help="Repeat to select several values.")]
Sets = Annotated[list[str] | None, typer.Option("--set", help="FIELD=VALUE (repeatable); "
                                                "dotted paths for texts, e.g. title.ru=...")]
As = Annotated[str | None, typer.Option(
    "--as", metavar="USERNAME", help="Act as this user: the rights of their role and "
    "organisation apply (default: the local operator, who may change anything).")]
Force = Annotated[bool, typer.Option(
    "--force", help="Write records whose stored version is newer than the file's (the "
    "audit entry says so).")]
CLI = Who("cli")  # the author of writes made at the command line
_OPERATOR = FullAccess("operator")


def operator_scope() -> Scope:
    """Everything: what the local operator (a command run without --as) reads."""
    return _OPERATOR.scope()


def scope_of(principal: Principal | None) -> Scope:
    """What a command reads: everything for the local operator (None), else what the user of
    `--as USERNAME` may see."""
    return operator_scope() if principal is None else scope_for(principal)


def acting(session: Any, username: str | None) -> tuple[Any, Who]:
    """The principal and audit author for `--as USERNAME` (None: the local operator)."""
    if username is None:
        return None, CLI
    from sqlalchemy import select

    from riskatlas.parties.accounts import principal_for
    from riskatlas.parties.models import User

    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        fail(f"--as: no active user {username!r}", 2)
    principal = principal_for(session, user)
    return principal, Who(principal.username, principal.org_key, "cli")


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def option_date(name: str, value: str | None) -> date | None:
    """An option's YYYY-MM-DD date (None when not given); exit 2 naming the option otherwise."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name}: not a date (YYYY-MM-DD): {value!r}", 2)


@contextmanager
def unit_of_work(db: str | None, *errors: type[Exception]) -> Iterator[Session]:
    """One transaction for a command; the services' own errors (`errors`) end the command with
    their message and exit 1, and nothing of the transaction is kept."""
    with runtime(db).transaction() as session:
        try:
            yield session
        except errors as exc:
            fail(str(exc))


def runtime(db: str | None) -> Runtime:
    try:
        return make_runtime(db)
    except ValueError as exc:
        fail(str(exc))


def report(problems: list[Any]) -> NoReturn:
    """Print every problem as file:line: field: reason and exit 2 (nothing was written)."""
    for problem in problems:  # plain lines: editors and CI parse them
        sys.stderr.write(f"{problem}\n")
    err.print(f"[red]{len(problems)} problem(s); nothing was written.[/red]")
    raise typer.Exit(2)
