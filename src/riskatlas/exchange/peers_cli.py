"""`riskatlas peers add|list|remove` and `riskatlas sync`: thin commands over
exchange.peers."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from riskatlas.catalog.matrix import active_matrix
from riskatlas.cli_options import Db, Fmt, err, fail, runtime
from riskatlas.exchange import peers as service
from riskatlas.exchange.stix_import import StixError
from riskatlas.output import Format, emit

peers_app = typer.Typer(help="Other nodes this node pulls records from over TAXII 2.1.",
                        no_args_is_help=True)


@peers_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name for the peer (e.g. KAZ-NODE).")],
    url: Annotated[str, typer.Argument(help="The peer's TAXII address: its discovery URL "
                                       "(https://node/taxii2/) or an API root.")],
    db: Db = None,
    user: Annotated[str | None, typer.Option(help="Sign in with HTTP Basic as this account "
                                             "of the peer (default: a bearer token).")] = None,
    token_env: Annotated[str, typer.Option(help="Environment variable holding the peer's "
                                           "API token (or, with --user, its password).")]
    = "RISKATLAS_PEER_TOKEN",
) -> None:
    """Add a peer. The token (an API token of an account on the peer, read-only is enough) is
    read from the environment, not the command line, so it stays out of shell histories."""
    token = os.environ.get(token_env)
    if not token:
        fail(f"--token-env: set {token_env} to the peer's API token", 2)
    with runtime(db).transaction() as session:
        try:
            service.add_peer(session, name, url, token, user)
        except service.PeerError as exc:
            fail(str(exc), 2)
    err.print(f"Peer {name} added: riskatlas sync {name}", highlight=False)


@peers_app.command("list")
def list_(db: Db = None, fmt: Fmt = Format.table) -> None:
    """The peers, how this node signs in to them, and when each was last synced."""
    with runtime(db).transaction() as session:
        rows = service.list_peers(session)
    emit(rows, fmt, ("name", "url", "auth", "username", "synced_at", "collections"),
         title=f"{len(rows)} peer(s)")


@peers_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The peer's name.")],
           db: Db = None) -> None:
    """Forget a peer (records already pulled from it stay)."""
    with runtime(db).transaction() as session:
        try:
            service.remove_peer(session, name)
        except service.PeerError as exc:
            fail(str(exc), 1)
    err.print(f"Peer {name} removed.", highlight=False)


def sync(
    name: Annotated[str | None, typer.Argument(help="One peer (default: every peer).")] = None,
    db: Db = None,
) -> None:
    """Pull what each peer added since the last sync over TAXII and import it (per peer all
    or nothing); a record retired at its origin arrives revoked and is retired here."""
    rt = runtime(db)
    matrix = active_matrix(rt.settings)
    with rt.transaction() as session:
        chosen = [name] if name else service.names(session)
    if not chosen:
        err.print("No peers: riskatlas peers add NAME URL")
        return
    failed = 0
    for peer in chosen:
        try:
            with rt.transaction() as session, err.status(f"Syncing {peer}…") as status:
                pulled = service.sync(session, matrix, peer, lambda m: status.update(m))
        except service.PeerError as exc:
            err.print(f"[red]{exc}[/red]", highlight=False)
            failed += 1
            continue
        except StixError as exc:
            for problem in exc.problems:
                sys.stderr.write(f"{peer}: {problem}\n")
            err.print(f"[red]{peer}: {len(exc.problems)} problem(s); nothing was written."
                      "[/red]")
            failed += 1
            continue
        err.print(pulled.summary(), highlight=False)
        for line in pulled.lines:
            err.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
