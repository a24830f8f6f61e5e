"""`riskatlas stix export|import`: thin commands over exchange.stix_export and stix_import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from riskatlas.audit.service import Who
from riskatlas.catalog.matrix import active_matrix
from riskatlas.cli_options import As, Db, acting, err, runtime, scope_of
from riskatlas.exchange.stix_export import dumps, export_bundle
from riskatlas.exchange.stix_import import StixError, plan_import, read_bundle, write_import

stix_app = typer.Typer(help="STIX 2.1 bundles: export what you may see, import from other "
                       "nodes and tools.", no_args_is_help=True)


@stix_app.command("export")
def export(
    db: Db = None, as_user: As = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the bundle here instead of stdout.")] = None,
) -> None:
    """Export everything the user of --as may see (default: everything) as a STIX 2.1 bundle:
    risks, measures, their links, actors, alerts, and the identities, locations and TLP
    markings they refer to."""
    rt = runtime(db)
    with rt.transaction() as session:
        principal, _ = acting(session, as_user)
        bundle = export_bundle(session, active_matrix(rt.settings), scope_of(principal),
                               rt.settings.aggregation)
    data = dumps(bundle, indent=output is None and sys.stdout.isatty()) + b"\n"
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    err.print(f"Wrote {output} ({len(bundle['objects'])} objects).")


@stix_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A STIX 2.1 bundle (JSON).")],
    db: Db = None, as_user: As = None,
) -> None:
    """Import a STIX 2.1 bundle: validate every object first, then write all or nothing, and
    report what was skipped (unknown types and properties) or kept apart."""
    rt = runtime(db)
    matrix = active_matrix(rt.settings)
    try:
        with rt.transaction() as session:
            principal, author = acting(session, as_user)
            with err.status("Validating…"):
                plan = plan_import(session, matrix, file, read_bundle(file), principal)
            with err.status("Writing…"):
                report = write_import(session, matrix, plan,
                                      Who("stix-import") if principal is None else author)
    except StixError as exc:
        for problem in exc.problems:  # plain lines, as for catalog files
            sys.stderr.write(f"{problem}\n")
        err.print(f"[red]{len(exc.problems)} problem(s); nothing was written.[/red]")
        raise typer.Exit(2) from None
    for line in report.lines():
        err.print(line, highlight=False, soft_wrap=True, markup=False)
