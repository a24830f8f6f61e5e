"""CLI for sharing groups (registered in riskatlas.cli): a thin layer over sharing.service."""

from __future__ import annotations

from typing import Annotated

import typer

from riskatlas.cli_options import Db, Fmt, err, runtime, unit_of_work
from riskatlas.output import Format, emit
from riskatlas.parties.accounts import ADMIN_ORG
from riskatlas.sharing import service

groups_app = typer.Typer(help="Sharing groups: who reads the AMBER records shared with them.",
                         no_args_is_help=True)
members_app = typer.Typer(help="Organisations in a sharing group.", no_args_is_help=True)
groups_app.add_typer(members_app, name="members")

GroupKey = Annotated[str, typer.Argument(metavar="KEY", help="The group's key.")]
OrgKeys = Annotated[list[str], typer.Argument(metavar="ORG...",
                                              help="Organisation keys (see: orgs list).")]


@groups_app.command("add")
def groups_add(
    key: Annotated[str, typer.Argument(help="Its key (letters, digits, - _ .; stored "
                                       "upper-case), as records' grants name it.")],
    name: Annotated[str, typer.Option("--name", help="What the group is.")],
    owner: Annotated[str, typer.Option("--owner", help="Organisation that owns it; its "
                                       "administrators manage it through the API.")] = ADMIN_ORG,
    db: Db = None,
) -> None:
    """Create an empty sharing group."""
    with unit_of_work(db, service.SharingError) as session:
        group = service.add_group(session, key, name, owner)
    err.print(f"Added sharing group {group['key']} (owner {group['owner']}).", highlight=False)


@groups_app.command("list")
def groups_list(db: Db = None, fmt: Fmt = Format.table) -> None:
    """List sharing groups with their owners and members."""
    with runtime(db).transaction() as session:
        rows = service.list_groups(session)
    emit(rows, fmt, ("key", "name", "owner", "members"), title=f"{len(rows)} sharing groups")


@groups_app.command("show")
def groups_show(key: GroupKey, db: Db = None, fmt: Fmt = Format.table) -> None:
    """Show a sharing group and its members."""
    with unit_of_work(db, service.SharingError) as session:
        group = service.show_group(session, key)
    emit(group, fmt)


@members_app.command("add")
def members_add(key: GroupKey, orgs: OrgKeys, db: Db = None) -> None:
    """Add organisations to a group; they read its AMBER records at once."""
    with unit_of_work(db, service.SharingError) as session:
        group = service.add_members(session, key, orgs)
    err.print(f"{group['key']} members: {', '.join(group['members'])}.", highlight=False)


@members_app.command("remove")
def members_remove(key: GroupKey, orgs: OrgKeys, db: Db = None) -> None:
    """Remove organisations from a group; they stop reading its AMBER records at once."""
    with unit_of_work(db, service.SharingError) as session:
        group = service.remove_members(session, key, orgs)
    err.print(f"{group['key']} members: {', '.join(group['members']) or 'none'}.",
              highlight=False)
