"""The `riskatlas` command: a thin Typer layer over the services.

Each domain keeps its commands in its own module (catalog.cli, parties.cli); this one
assembles them and holds set-up, serving, the schema and the audit trail.
"""

from __future__ import annotations

import inspect
from typing import Annotated

import typer

from riskatlas.catalog import assessment_cli
from riskatlas.catalog import cli as catalog_cli
from riskatlas.catalog.importer import ImportError_
from riskatlas.catalog.library import load_default_catalog
from riskatlas.catalog.matrix import active_matrix
from riskatlas.cli_options import Commands, Db, Fmt, err, fail, report, runtime
from riskatlas.exchange.peers_cli import peers_app
from riskatlas.exchange.peers_cli import sync as sync_command
from riskatlas.exchange.stix_cli import stix_app
from riskatlas.governance.cli import meetings_app, proposals_app
from riskatlas.operations import cli as operations_cli
from riskatlas.output import Format, emit
from riskatlas.parties.cli import orgs_app, states_app, tokens_app, users_app
from riskatlas.reports import cli as reports_cli
from riskatlas.sharing.cli import groups_app
from riskatlas.warning.alerts_cli import alerts_app, warning_app
from riskatlas.warning.cli import events_app

app = typer.Typer(help="Risk Atlas: a shared catalog of regional security risks and measures.",
                  no_args_is_help=True, pretty_exceptions_enable=False, cls=Commands)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
app.add_typer(catalog_cli.risks_app, name="risks")
app.add_typer(catalog_cli.measures_app, name="measures")
app.add_typer(catalog_cli.matrix_app, name="matrix")
app.add_typer(assessment_cli.assessments_app, name="assessments")
app.add_typer(assessment_cli.links_app, name="links")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(states_app, name="states")
app.add_typer(orgs_app, name="orgs")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(groups_app, name="groups")
app.add_typer(events_app, name="events")
app.add_typer(warning_app, name="warning")
app.add_typer(alerts_app, name="alerts")
app.add_typer(stix_app, name="stix")
app.add_typer(peers_app, name="peers")
app.add_typer(proposals_app, name="proposals")
app.add_typer(meetings_app, name="meetings")
meetings_app.command("brief")(reports_cli.brief)
db_app.command("upgrade")(operations_cli.db_upgrade)
app.command("backup")(operations_cli.backup)
app.command("restore")(operations_cli.restore)
app.command("sync")(sync_command)
app.command("import")(catalog_cli.import_)
app.command("validate")(catalog_cli.validate)
app.command("export")(catalog_cli.export)


@app.command()
def init(db: Db = None) -> None:
    """Create or upgrade the database and load the default catalog if it is empty."""
    from riskatlas.migrate import upgrade
    from riskatlas.parties.accounts import AccountError, ensure_admin
    from riskatlas.parties.service import seed

    rt = runtime(db)
    upgrade(rt.settings.database_url)
    with rt.transaction() as session:
        seed(session)
        try:
            counts = load_default_catalog(session, active_matrix(rt.settings))
        except ImportError_ as exc:
            report(exc.problems)
            return
        try:
            password = ensure_admin(session, rt.settings)
        except AccountError as exc:  # e.g. RISKATLAS_ADMIN_PASSWORD too short
            fail(f"cannot create the administrator: {exc}")
    if counts is None:
        err.print("Database already holds a catalog; left as it is.")
    else:
        err.print(f"Loaded the default catalog: {counts}.")
    if password:
        err.print("Created the administrator [bold]admin[/bold] (organisation C5-SEC) with the "
                  f"password [bold]{password}[/bold]\nIt is shown only this once: store it now "
                  "or set RISKATLAS_ADMIN_PASSWORD before the first start.", soft_wrap=True)


@app.command()
def serve(
    db: Db = None,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes.")] = 1,
) -> None:
    """Start the web server (JSON API and pages)."""
    import os

    import uvicorn

    from riskatlas.operations.logs import configure as configure_logs

    if db:
        os.environ["RISKATLAS_DATABASE_URL"] = db
    rt = runtime(db)
    with rt.engine.connect():  # a database that cannot be used is a clear error, not a 500
        pass
    # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1 before the app
    # sees the request; the app believes it from RISKATLAS_TRUSTED_PROXIES only (web.security).
    # Logging is the app's (operations.logs, JSON by default): uvicorn configures none and
    # writes no access lines of its own (the app writes one per request, with its request id).
    # A worker must answer uvicorn's health check within timeout_worker_healthcheck (5 s by
    # default); starting one (imports, the app, the first connection) took longer than that on
    # a busy two-CPU machine and uvicorn killed and restarted the workers: 30 s.
    configure_logs(rt.settings.log_format, rt.settings.log_level)
    uvicorn.run("riskatlas.web.app:create_app", factory=True, workers=workers,
                host=host or rt.settings.host, port=port or rt.settings.port,
                proxy_headers=False, server_header=False, log_config=None, access_log=False,
                timeout_worker_healthcheck=30)


@db_app.command("reindex")
def db_reindex(db: Db = None) -> None:
    """Rebuild the full-text search documents of every risk and measure."""
    from riskatlas.search.service import reindex_all

    rt = runtime(db)
    with rt.transaction() as session, err.status("Reindexing…"):
        reindex_all(session)
    err.print("Search index rebuilt.")


@audit_app.command("verify")
def audit_verify(db: Db = None) -> None:
    """Check the audit chain; name the first broken entry and exit 1 if it does not hold."""
    from riskatlas.audit.service import verify

    rt = runtime(db)
    with rt.transaction() as session:
        verdict = verify(session)
    if not verdict.ok:
        fail(f"audit chain broken at entry {verdict.broken_seq}: {verdict.reason}")
    err.print(f"Audit chain intact: {verdict.entries} entries.")


@audit_app.command("list")
def audit_list(
    db: Db = None, fmt: Fmt = Format.table,
    limit: Annotated[int, typer.Option(help="How many of the latest entries.")] = 50,
) -> None:
    """Show the latest audit entries."""
    from riskatlas.audit.service import latest

    rt = runtime(db)
    with rt.transaction() as session:
        rows = latest(session, limit)
    emit(rows, fmt, ["seq", "at", "actor", "org", "action", "key", "detail"])


def _one_line_summaries(group: typer.Typer) -> None:
    """A command's line in its group's list is its docstring's first paragraph on one line:
    Typer's rich help keeps the docstring's line breaks there ("... (exit 2 with every bad"
    then a new line)."""
    for info in group.registered_commands:
        doc = info.callback.__doc__ if info.callback else None
        if info.short_help is None and info.help is None and doc:
            info.short_help = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _one_line_summaries(sub.typer_instance)


_one_line_summaries(app)
