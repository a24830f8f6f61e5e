"""CLI for the catalog: risks, measures, the matrix, import, export and validation."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.syntax import Syntax

from riskatlas.audit.service import Who
from riskatlas.catalog import edits, queries
from riskatlas.catalog import records as rec
from riskatlas.catalog.files import dump_yaml, write_csv
from riskatlas.catalog.importer import ImportError_, KeyInUse, paused_gc, validate_files
from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.service import save
from riskatlas.cli_options import (
    As,
    Db,
    Fmt,
    Force,
    Lang,
    Many,
    Sets,
    acting,
    err,
    fail,
    operator_scope,
    report,
    runtime,
    scope_of,
)
from riskatlas.output import ExportFormat, Format, emit, label, phrase
from riskatlas.runtime import Runtime

risks_app = typer.Typer(help="Browse and change risks.", no_args_is_help=True)
measures_app = typer.Typer(help="Browse and change measures.", no_args_is_help=True)
matrix_app = typer.Typer(help="The risk matrix.", no_args_is_help=True)

RISK_COLUMNS = ("key", "domain", "category", "title", "likelihood", "impact", "level",
                "residual_level", "status")
MEASURE_COLUMNS = ("key", "kind", "title", "lead", "status", "risks")
RiskSort = Annotated[str | None, typer.Option(
    "--sort", help=f"Order by {', '.join(queries.RISK_SORTS)}; prefix - to reverse "
    "(--sort=-level).")]
MeasureSort = Annotated[str | None, typer.Option(
    "--sort", help=f"Order by {', '.join(queries.MEASURE_SORTS)}; prefix - to reverse.")]


@matrix_app.command("show")
def matrix_show(db: Db = None, fmt: Fmt = Format.table, lang: Lang = "en") -> None:
    """Show the active risk matrix (likelihood rows, impact columns, low to high)."""
    rt = runtime(db)
    data = active_matrix(rt.settings).as_json()
    if fmt is not Format.table:
        emit(data if fmt is not Format.csv else [
            dict({"likelihood": lik}, **dict(zip(data["impact"], row, strict=True)))
            for lik, row in zip(data["likelihood"], data["grid"], strict=True)], fmt)
        return
    corner = phrase("matrix_corner", lang)
    impact = [label("impact", value, lang) for value in data["impact"]]
    rows = [dict({corner: label("likelihood", lik, lang)},
                 **dict(zip(impact, (label("level", c, lang) for c in row), strict=True)))
            for lik, row in reversed(list(zip(data["likelihood"], data["grid"], strict=True)))]
    emit(rows, fmt, [corner, *impact], title=data["name"])


def _filters_or_fail(**kwargs: Any) -> queries.RiskFilters:
    return queries.RiskFilters(**{k: v or [] for k, v in kwargs.items()}, strict=True)


@risks_app.command("list")
def risks_list(
    db: Db = None, fmt: Fmt = Format.table, lang: Lang = "en",
    domain: Many = None, state: Many = None, level: Many = None, residual_level: Many = None,
    status: Many = None, category: Many = None, sort: RiskSort = None,
) -> None:
    """List risks, filtered by domain, state, level, residual level, status or category."""
    rt = runtime(db)
    filters = _filters_or_fail(domain=domain, state=state, level=level,
                               residual_level=residual_level, status=status, category=category)
    with rt.transaction() as session:
        try:
            total, rows = queries.list_risks(session, active_matrix(rt.settings), operator_scope(),
                                             filters, aggregation=rt.settings.aggregation,
                                             sort=sort)
        except (queries.FilterError, ValueError) as exc:  # an unknown value or sort field
            fail(str(exc), 2)
    emit(rows, fmt, RISK_COLUMNS, lang, title=phrase("risks_total", lang, count=total))


@risks_app.command("show")
def risks_show(key: str, db: Db = None, fmt: Fmt = Format.table, lang: Lang = "en") -> None:
    """Show one risk with its measures (and their status), sources, national assessments and
    the regional level they give."""
    rt = runtime(db)
    scope = operator_scope()
    with rt.transaction() as session:
        try:
            record = queries.get_risk(session, active_matrix(rt.settings), scope, key,
                                      rt.settings.aggregation)
        except queries.NotFound as exc:
            fail(str(exc))
        links = record.get("links") or []
        keys = [*record["measures"], *(link["measure"] for link in links)]
        if fmt is Format.table and keys:
            # Only the table shows each measure's status; the other formats stay the record.
            _, linked = queries.list_measures(session, scope, queries.MeasureFilters(keys=keys))
            status = {m["key"]: m["status"] for m in linked}
            record = dict(record, measures=[{"key": k, "status": status.get(k, "?")}
                                            for k in record["measures"]])
            if links:
                record["links"] = [dict(link, measure_status=status.get(link["measure"], "?"))
                                   for link in links]
    emit(record, fmt, lang=lang, title=record["key"])


@risks_app.command("history")
def risks_history(key: str, db: Db = None, fmt: Fmt = Format.table) -> None:
    """Show every version of a risk, each with a diff against the one before."""
    _history("risk", key, db, fmt)


def _history(entity: str, key: str, db: str | None, fmt: Format) -> None:
    rt = runtime(db)
    with rt.transaction() as session:
        try:
            versions = queries.history(session, entity, key, operator_scope())
        except queries.NotFound as exc:
            fail(str(exc))
    if fmt is not Format.table:
        emit(versions, fmt)
        return
    console = Console()
    for v in versions:
        console.rule(f"v{v['version']} · {v['change']} · {v['changed_at']} · "
                     f"{v['changed_by'] or '-'}")
        if v["diff"]:
            console.print(Syntax(v["diff"], "diff", theme="ansi_dark"))


def _record_input(path: Path | None, fields: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = _single(path) if path is not None else {}
    changes = {k: v for k, v in fields.items() if v is not None}
    return edits.apply(data, changes, locked=edits.DERIVED_FIELDS)


def _single(path: Path) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        fail(f"{path}: {exc}", 2)
    if not isinstance(doc, dict):
        fail(f"{path}: expected one record as a mapping")
    return doc


def _add(entity: str, db: str | None, from_file: Path | None, sets: list[str] | None,
         as_user: str | None) -> None:
    try:
        data = _record_input(from_file, edits.parse_assignments(sets or []))
    except ValueError as exc:
        fail(str(exc), 2)
    _write_one(entity, data, db, create=True, as_user=as_user)


def _write_one(entity: str, data: dict[str, Any], db: str | None, create: bool,
               as_user: str | None = None) -> None:
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            if create and (entity == "risks" and queries.risk_exists(session, data.get("key"))
                           or entity == "measures"
                           and queries.measure_exists(session, data.get("key"))):
                fail(f"{data.get('key')} already exists; use edit", 2)
            principal, author = acting(session, as_user)
            edits.write(session, active_matrix(rt.settings), entity, data, author, create=create,
                        principal=principal)
    except ImportError_ as exc:
        report(exc.problems)
    except KeyInUse as exc:
        fail(f"{exc} already exists; use edit", 2)
    err.print(f"Saved {data.get('key')}.")


@risks_app.command("add")
def risks_add(
    db: Db = None,
    from_file: Annotated[Path | None, typer.Option("--from", help="YAML/JSON file holding "
                                                   "one risk record.")] = None,
    sets: Sets = None, as_user: As = None,
) -> None:
    """Add a risk from a file and/or --set FIELD=VALUE pairs (same fields as the export)."""
    _add("risks", db, from_file, sets, as_user)


@risks_app.command("edit")
def risks_edit(key: str, db: Db = None, sets: Sets = None, as_user: As = None) -> None:
    """Change fields of a risk: --set likelihood=High --set title.ru='...'."""
    _edit("risks", key, db, sets, as_user)


def _edit(entity: str, key: str, db: str | None, sets: list[str] | None,
          as_user: str | None) -> None:
    if not sets:
        fail("nothing to change: give at least one --set FIELD=VALUE", 2)
    rt = runtime(db)
    try:
        changes = edits.parse_assignments(sets or [])
        with rt.transaction() as session:
            principal, author = acting(session, as_user)
            scope = scope_of(principal)
            record = edits.edit(session, active_matrix(rt.settings), scope, entity, key, changes,
                                author, principal=principal)
    except ImportError_ as exc:
        report(exc.problems)
        return
    except (queries.NotFound, ValueError) as exc:
        fail(str(exc), 2)
        return
    err.print(f"Saved {record['key']} as version {record['version']}.")


@measures_app.command("list")
def measures_list(
    db: Db = None, fmt: Fmt = Format.table, lang: Lang = "en",
    status: Many = None, state: Many = None, kind: Many = None, sort: MeasureSort = None,
) -> None:
    """List measures, filtered by status, participating state or kind."""
    rt = runtime(db)
    filters = queries.MeasureFilters(status=status or [], state=state or [], kind=kind or [],
                                     strict=True)
    with rt.transaction() as session:
        try:
            total, rows = queries.list_measures(session, operator_scope(), filters, sort=sort)
        except (queries.FilterError, ValueError) as exc:  # an unknown value or sort field
            fail(str(exc), 2)
    emit(rows, fmt, MEASURE_COLUMNS, lang, title=phrase("measures_total", lang, count=total))


@measures_app.command("show")
def measures_show(key: str, db: Db = None, fmt: Fmt = Format.table, lang: Lang = "en") -> None:
    """Show one measure, with its expected effect on likelihood and on impact."""
    rt = runtime(db)
    with rt.transaction() as session:
        try:
            record = queries.get_measure(session, operator_scope(), key)
        except queries.NotFound as exc:
            fail(str(exc))
    emit(record, fmt, lang=lang, title=record["key"])


@measures_app.command("add")
def measures_add(
    db: Db = None,
    from_file: Annotated[Path | None, typer.Option("--from", help="YAML/JSON file holding "
                                                   "one measure record.")] = None,
    sets: Sets = None, as_user: As = None,
) -> None:
    """Add a measure from a file and/or --set FIELD=VALUE pairs."""
    _add("measures", db, from_file, sets, as_user)


@measures_app.command("edit")
def measures_edit(key: str, db: Db = None, sets: Sets = None, as_user: As = None) -> None:
    """Change fields of a measure: --set status=implemented."""
    _edit("measures", key, db, sets, as_user)


@measures_app.command("history")
def measures_history(key: str, db: Db = None, fmt: Fmt = Format.table) -> None:
    """Show every version of a measure."""
    _history("measure", key, db, fmt)


def import_(
    files: Annotated[list[Path], typer.Argument(
        help="Files (YAML, JSON, CSV, XLSX) or folders written by `export --output DIR`; "
        "one batch.")],
    db: Db = None, as_user: As = None, force: Force = False,
) -> None:
    """Import catalog files: validate every record first, then write all or nothing.

    An existing record must carry the version it was exported at (a newer stored version is
    a conflict); fields a file does not carry keep their stored values."""
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            principal, author = acting(session, as_user)
            with err.status("Validating…"):
                batch = validate_files(session, active_matrix(rt.settings), files, principal,
                                       force=force)
            with err.status(f"Writing {len(batch.risks)} risks, {len(batch.measures)} "
                            "measures…"):
                counts = save(session, active_matrix(rt.settings), batch,
                              Who("import") if principal is None else author)
    except ImportError_ as exc:
        report(exc.problems)
        return
    err.print(f"Imported: {counts}.")


def validate(
    files: Annotated[list[Path], typer.Argument(help="Files or folders, as for import.")],
    db: Db = None, as_user: As = None, force: Force = False,
) -> None:
    """Check catalog files exactly as import would, writing nothing (exit 2 and list every
    problem if import would refuse them)."""
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            principal, _ = acting(session, as_user)
            batch = validate_files(session, active_matrix(rt.settings), files, principal,
                                   force=force)
            session.rollback()
    except ImportError_ as exc:
        report(exc.problems)
        return
    err.print(f"Valid: {len(batch.actors)} actors, {len(batch.risks)} risks, "
              f"{len(batch.measures)} measures.")


def export(
    db: Db = None,
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", "-f", help="json, yaml, csv or xlsx (xlsx needs --output FILE.xlsx).",
    )] = ExportFormat.json,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here instead of stdout (csv: a folder of three files; "
        "xlsx: a workbook of three sheets).",
    )] = None,
) -> None:
    """Export the whole catalog (risks, measures, actors)."""
    if fmt is ExportFormat.xlsx and (output is None or output.suffix.lower() != ".xlsx"):
        fail("xlsx export writes a workbook: give --output FILE.xlsx", 2)
    # The collector stays paused until the document is freed again: resumed while it is alive,
    # its first pass would scan its millions of objects for nothing (0.2 s of a 3 s export).
    with paused_gc():
        _export(runtime(db), fmt, output)


def _export(rt: Runtime, fmt: ExportFormat, output: Path | None) -> None:
    with rt.transaction() as session:
        doc = rec.export_document(session, active_matrix(rt.settings), operator_scope(),
                                  rt.settings.aggregation, raw_json=fmt is ExportFormat.json)
    if fmt is ExportFormat.csv:
        # With a BOM (utf-8-sig): without one, Excel reads UTF-8 as the locale's code page and
        # Cyrillic turns to mojibake. Reading accepts files with and without.
        if output is None:
            text = io.StringIO()
            write_csv(doc["risks"], text)
            sys.stdout.flush()
            sys.stdout.buffer.write(text.getvalue().encode("utf-8-sig"))
            sys.stdout.buffer.flush()
            return
        output.mkdir(parents=True, exist_ok=True)
        for name in ("actors", "risks", "measures"):
            with (output / f"{name}.csv").open("w", encoding="utf-8-sig", newline="") as fh:
                write_csv(doc[name], fh)
        err.print(f"Wrote {output}/actors.csv, risks.csv, measures.csv.")
        return
    if fmt is ExportFormat.xlsx and output is not None:
        from riskatlas.catalog.spreadsheets import SheetError, write_xlsx

        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_xlsx(doc, output)
        except SheetError as exc:
            fail(f"cannot write {output}:\n{exc}")
        err.print(f"Wrote {output} (sheets actors, risks, measures).")
        return
    if fmt is ExportFormat.json:
        # Bytes straight from orjson: decoding 100 MB to text only to encode it again costs
        # more than building the JSON. Indented for a person at a terminal; compact for files
        # and pipes, where exports of tens of megabytes go.
        option = orjson.OPT_INDENT_2 if output is None and sys.stdout.isatty() else 0
        data = orjson.dumps(doc, option=option) + b"\n"
    elif fmt is ExportFormat.yaml:
        data = dump_yaml(doc).encode("utf-8")
    else:
        fail("xlsx export writes a workbook: give --output FILE.xlsx", 2)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        err.print(f"Wrote {output}.")
