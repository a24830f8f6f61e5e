"""CLI for the catalog: risks, measures, the matrix, import, export and validation."""

from __future__ import annotations

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
from riskatlas.catalog.importer import ImportError_, paused_gc, validate_files
from riskatlas.catalog.service import save
from riskatlas.cli_options import CLI, Db, Fmt, Lang, Many, Sets, err, fail, report, runtime
from riskatlas.output import Format, emit
from riskatlas.runtime import Runtime
from riskatlas.sharing.policy import Scope

risks_app = typer.Typer(help="Browse and change risks.", no_args_is_help=True)
measures_app = typer.Typer(help="Browse and change measures.", no_args_is_help=True)
matrix_app = typer.Typer(help="The risk matrix.", no_args_is_help=True)

RISK_COLUMNS = ("key", "domain", "category", "title", "likelihood", "impact", "level",
                "residual_level", "status")
MEASURE_COLUMNS = ("key", "kind", "title", "lead", "status", "risks")


@matrix_app.command("show")
def matrix_show(db: Db = None, fmt: Fmt = Format.table) -> None:
    """Show the active risk matrix (likelihood rows, impact columns, low to high)."""
    rt = runtime(db)
    data = rt.matrix.as_json()
    if fmt is not Format.table:
        emit(data if fmt is not Format.csv else [
            dict({"likelihood": lik}, **dict(zip(data["impact"], row, strict=True)))
            for lik, row in zip(data["likelihood"], data["grid"], strict=True)], fmt)
        return
    rows = [dict({"likelihood \\ impact": lik}, **dict(zip(data["impact"], row, strict=True)))
            for lik, row in reversed(list(zip(data["likelihood"], data["grid"], strict=True)))]
    emit(rows, fmt, ["likelihood \\ impact", *data["impact"]], title=data["name"])


def _filters_or_fail(**kwargs: Any) -> queries.RiskFilters:
    return queries.RiskFilters(**{k: v or [] for k, v in kwargs.items()}, strict=True)


@risks_app.command("list")
def risks_list(
    db: Db = None, fmt: Fmt = Format.table, lang: Lang = "en",
    domain: Many = None, state: Many = None, level: Many = None, status: Many = None,
    category: Many = None,
) -> None:
    """List risks, filtered by domain, state, level, status or category."""
    rt = runtime(db)
    filters = _filters_or_fail(domain=domain, state=state, level=level, status=status,
                               category=category)
    with rt.transaction() as session:
        try:
            total, rows = queries.list_risks(session, rt.matrix, Scope.everything(), filters,
                                             aggregation=rt.settings.aggregation)
        except ValueError as exc:
            fail(str(exc), 2)
            return
    emit(rows, fmt, RISK_COLUMNS, lang, title=f"{total} risks")


@risks_app.command("show")
def risks_show(key: str, db: Db = None, fmt: Fmt = Format.table, lang: Lang = "en") -> None:
    """Show one risk with its measures, sources and national assessments."""
    rt = runtime(db)
    with rt.transaction() as session:
        try:
            record = queries.get_risk(session, rt.matrix, Scope.everything(), key,
                                      rt.settings.aggregation)
        except queries.NotFound as exc:
            fail(str(exc))
            return
    emit(record, fmt, lang=lang, title=record["key"])


@risks_app.command("history")
def risks_history(key: str, db: Db = None, fmt: Fmt = Format.table) -> None:
    """Show every version of a risk, each with a diff against the one before."""
    _history("risk", key, db, fmt)


def _history(entity: str, key: str, db: str | None, fmt: Format) -> None:
    rt = runtime(db)
    with rt.transaction() as session:
        versions = queries.history(session, entity, key)
    if not versions:
        fail(f"no {entity} {key!r}")
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


def _add(entity: str, db: str | None, from_file: Path | None, sets: list[str] | None) -> None:
    try:
        data = _record_input(from_file, edits.parse_assignments(sets or []))
    except ValueError as exc:
        fail(str(exc), 2)
    _write_one(entity, data, db, create=True)


def _write_one(entity: str, data: dict[str, Any], db: str | None, create: bool) -> None:
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            if create and (entity == "risks" and queries.risk_exists(session, data.get("key"))
                           or entity == "measures"
                           and queries.measure_exists(session, data.get("key"))):
                fail(f"{data.get('key')} already exists; use edit")
            edits.write(session, rt.matrix, entity, data, CLI, create=create)
    except ImportError_ as exc:
        report(exc.problems)
    err.print(f"Saved {data.get('key')}.")


@risks_app.command("add")
def risks_add(
    db: Db = None,
    from_file: Annotated[Path | None, typer.Option("--from", help="YAML/JSON file holding "
                                                   "one risk record.")] = None,
    sets: Sets = None,
) -> None:
    """Add a risk from a file and/or --set FIELD=VALUE pairs (same fields as the export)."""
    _add("risks", db, from_file, sets)


@risks_app.command("edit")
def risks_edit(key: str, db: Db = None, sets: Sets = None) -> None:
    """Change fields of a risk: --set likelihood=High --set title.ru='...'."""
    _edit("risks", key, db, sets)


def _edit(entity: str, key: str, db: str | None, sets: list[str] | None) -> None:
    if not sets:
        fail("nothing to change: give at least one --set FIELD=VALUE", 2)
    rt = runtime(db)
    try:
        changes = edits.parse_assignments(sets or [])
        with rt.transaction() as session:
            record = edits.edit(session, rt.matrix, Scope.everything(), entity, key, changes,
                                CLI)
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
    status: Many = None, state: Many = None, kind: Many = None,
) -> None:
    """List measures, filtered by status, participating state or kind."""
    rt = runtime(db)
    filters = queries.MeasureFilters(status=status or [], state=state or [], kind=kind or [])
    with rt.transaction() as session:
        total, rows = queries.list_measures(session, Scope.everything(), filters)
    emit(rows, fmt, MEASURE_COLUMNS, lang, title=f"{total} measures")


@measures_app.command("show")
def measures_show(key: str, db: Db = None, fmt: Fmt = Format.table, lang: Lang = "en") -> None:
    """Show one measure."""
    rt = runtime(db)
    with rt.transaction() as session:
        try:
            record = queries.get_measure(session, Scope.everything(), key)
        except queries.NotFound as exc:
            fail(str(exc))
            return
    emit(record, fmt, lang=lang, title=record["key"])


@measures_app.command("add")
def measures_add(
    db: Db = None,
    from_file: Annotated[Path | None, typer.Option("--from", help="YAML/JSON file holding "
                                                   "one measure record.")] = None,
    sets: Sets = None,
) -> None:
    """Add a measure from a file and/or --set FIELD=VALUE pairs."""
    _add("measures", db, from_file, sets)


@measures_app.command("edit")
def measures_edit(key: str, db: Db = None, sets: Sets = None) -> None:
    """Change fields of a measure: --set status=implemented."""
    _edit("measures", key, db, sets)


@measures_app.command("history")
def measures_history(key: str, db: Db = None, fmt: Fmt = Format.table) -> None:
    """Show every version of a measure."""
    _history("measure", key, db, fmt)


def import_(
    files: Annotated[list[Path], typer.Argument(help="YAML, JSON or CSV files (one batch).")],
    db: Db = None,
) -> None:
    """Import catalog files: validate every record first, then write all or nothing."""
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            with err.status("Validating…"):
                batch = validate_files(session, rt.matrix, files)
            with err.status(f"Writing {len(batch.risks)} risks, {len(batch.measures)} "
                            "measures…"):
                counts = save(session, rt.matrix, batch, Who("import"))
    except ImportError_ as exc:
        report(exc.problems)
        return
    err.print(f"Imported: {counts}.")


def validate(
    files: Annotated[list[Path], typer.Argument(help="YAML, JSON or CSV files.")],
    db: Db = None,
) -> None:
    """Check catalog files without writing anything (exit 2 and list problems if invalid)."""
    rt = runtime(db)
    try:
        with rt.transaction() as session:
            batch = validate_files(session, rt.matrix, files)
            session.rollback()
    except ImportError_ as exc:
        report(exc.problems)
        return
    err.print(f"Valid: {len(batch.actors)} actors, {len(batch.risks)} risks, "
              f"{len(batch.measures)} measures.")


def export(
    db: Db = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="json, yaml or csv.")] = Format.json,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write here instead of stdout (csv: a folder of three files).",
    )] = None,
) -> None:
    """Export the whole catalog (risks, measures, actors)."""
    # The collector stays paused until the document is freed again: resumed while it is alive,
    # its first pass would scan its millions of objects for nothing (0.2 s of a 3 s export).
    with paused_gc():
        _export(runtime(db), fmt, output)


def _export(rt: Runtime, fmt: Format, output: Path | None) -> None:
    with rt.transaction() as session:
        doc = rec.export_document(session, rt.matrix, Scope.everything(),
                                  rt.settings.aggregation, raw_json=fmt is Format.json)
    if fmt is Format.csv:
        if output is None:
            write_csv(doc["risks"], sys.stdout)
            return
        output.mkdir(parents=True, exist_ok=True)
        for name in ("actors", "risks", "measures"):
            with (output / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
                write_csv(doc[name], fh)
        err.print(f"Wrote {output}/actors.csv, risks.csv, measures.csv.")
        return
    if fmt is Format.json:
        # Bytes straight from orjson: decoding 100 MB to text only to encode it again costs
        # more than building the JSON. Indented for a person at a terminal; compact for files
        # and pipes, where exports of tens of megabytes go.
        option = orjson.OPT_INDENT_2 if output is None and sys.stdout.isatty() else 0
        data = orjson.dumps(doc, option=option) + b"\n"
    elif fmt is Format.yaml:
        data = dump_yaml(doc).encode("utf-8")
    else:
        fail("export writes json, yaml or csv", 2)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(data)
        err.print(f"Wrote {output}.")
