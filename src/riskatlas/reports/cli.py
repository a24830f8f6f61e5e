"""`riskatlas meetings brief`: a meeting's briefing pack as HTML or PDF."""

from __future__ import annotations

import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from riskatlas.catalog.matrix import active_matrix
from riskatlas.catalog.queries import NotFound
from riskatlas.cli_options import As, Db, acting, err, fail, runtime
from riskatlas.reports import briefing, render
from riskatlas.sharing.policy import MEMBER_VIEW, scope_for


class PackFormat(StrEnum):
    html = "html"
    pdf = "pdf"


def write_atomically(path: Path, data: bytes) -> None:
    """Write beside the target and rename: a reader never finds half a pack."""
    handle, temporary = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def brief(
    meeting: Annotated[int, typer.Argument(help="The meeting's id (riskatlas meetings list).",
                                           min=1, max=2**31 - 1)],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.",
                                         dir_okay=False)],
    lang: Annotated[str, typer.Option("--lang", help="Language of the pack: en or ru.")] = "en",
    fmt: Annotated[PackFormat, typer.Option("--format", "-f", help="html or pdf.")] = (
        PackFormat.pdf),
    db: Db = None, as_user: As = None,
) -> None:
    """Write a meeting's briefing pack. Without --as it shows what a member state's viewer may
    see; with --as, what that user may see (never more)."""
    try:
        render.check_language(lang)
    except render.BriefError as exc:
        fail(str(exc), 2)
    if not output.parent.is_dir():
        fail(f"--output: no folder {str(output.parent)!r}", 2)
    rt = runtime(db)
    with rt.engine.connect():  # a database that cannot be used is a clear error
        pass
    with rt.transaction() as session:
        principal, _ = acting(session, as_user)
        scope = scope_for(principal if principal is not None else MEMBER_VIEW)
        with err.status("Gathering the pack…"):
            try:
                found = briefing.gather(session, active_matrix(rt.settings), scope, meeting)
            except NotFound as exc:
                fail(str(exc), 2)
    with err.status("Rendering…"):
        document = render.html(found, lang)
        data = document.encode() if fmt is PackFormat.html else render.pdf(document)
    write_atomically(output, data)
    err.print(f"Wrote the {fmt.value.upper()} briefing pack of meeting {meeting} "
              f"({lang}, {len(data):,} bytes) to {output}")
