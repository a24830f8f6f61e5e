"""Reading an ACLED aggregated workbook (.xlsx) for `riskatlas events import --format
acled-weekly`: the product's reader (`warning.inputs.sheet_rows`, python-calamine) beside
openpyxl's streaming reader (the baseline, what the product used before), in the same run, and
the whole import into a fresh SQLite database.

    .venv/bin/python benchmarks/workbook_bench.py              # 250,000 rows (~14 MB)
    # options: --rows N --runs N

The workbook (ACLED's 13 aggregated columns: weekly rows of 700 provinces, dates as date cells,
numbers as numbers) is generated once with openpyxl and cached in benchmarks/results/cache/.
Both readers turn every cell into the same text (`inputs.cell_text`); the run checks that they
give the same rows before it reports the ratio.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))
from riskatlas.warning import inputs  # noqa: E402

HEADER = ("WEEK", "REGION", "COUNTRY", "ADMIN1", "EVENT_TYPE", "SUB_EVENT_TYPE", "EVENTS",
          "FATALITIES", "POPULATION_EXPOSURE", "DISORDER_TYPE", "ID", "CENTROID_LATITUDE",
          "CENTROID_LONGITUDE")
PROVINCES = 700


def workbook(rows: int) -> Path:
    from openpyxl import Workbook

    path = ROOT / "results" / "cache" / f"weekly-{rows}.xlsx"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    draw, first = random.Random(11), datetime(2018, 1, 6)  # a Saturday
    types = (("Protests", "Peaceful protest", "Demonstrations"),
             ("Riots", "Mob violence", "Demonstrations"),
             ("Battles", "Armed clash", "Political violence"))
    for i in range(rows):
        kind = types[i % 3]
        sheet.append([first + timedelta(weeks=i // (PROVINCES * 3)), "Caucasus and Central Asia",
                      "Kyrgyzstan", f"Province {i // 3 % PROVINCES}", kind[0], kind[1],
                      draw.randint(1, 9), draw.randint(0, 3), draw.randint(0, 100_000), kind[2],
                      10_000 + i // 3 % PROVINCES, round(39 + draw.random() * 4, 4),
                      round(69 + draw.random() * 9, 4)])
    partial = path.with_suffix(".part")
    book.save(partial)
    partial.rename(path)
    return path


def openpyxl_rows(path: Path) -> list[list[str]]:
    """The baseline: openpyxl's read-only (streaming) mode, cells as the same text."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        return [[inputs.cell_text(v) for v in values]
                for values in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def product_rows(path: Path) -> list[list[str]]:
    return [fields or [] for _, fields, _ in inputs.sheet_rows(path, None, 10_000)]


def timed(read: object, path: Path) -> tuple[float, list[list[str]]]:
    start = time.perf_counter()
    rows = read(path)  # type: ignore[operator]
    return time.perf_counter() - start, rows


def import_seconds(path: Path) -> float:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        cli = [str(Path(sys.executable).parent / "riskatlas")]  # the venv's command
        subprocess.run([*cli, "init", "--db", url], check=True, capture_output=True)
        start = time.perf_counter()
        done = subprocess.run([*cli, "events", "import", str(path), "--format", "acled-weekly",
                               "--db", url], capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        print(f"  import: {done.stderr.strip().splitlines()[-1]}")
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = workbook(args.rows)
    print(f"{path.name}: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB")
    base, product = [], []
    for run in range(args.runs):
        b, expected = timed(openpyxl_rows, path)
        p, got = timed(product_rows, path)
        # the same rows (the product trims the empty cells past the header's width)
        assert [r for r in got if r] == [r[:len(got[0])] for r in expected if any(r)], run
        base.append(b)
        product.append(p)
        print(f"  run {run + 1}: openpyxl {b:.2f} s, product (calamine) {p:.2f} s")
    print(f"read, median of {args.runs}: openpyxl {median(base):.2f} s, product "
          f"{median(product):.2f} s: {median(base) / median(product):.1f}x faster")
    print(f"whole import (SQLite): {import_seconds(path):.2f} s")


if __name__ == "__main__":
    main()
