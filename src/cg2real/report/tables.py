"""Tables as text: the CSV and Markdown twins each report table is written as (HTML: html.py).

One writer for all of them, so that every table escapes the same way: a `|` inside a cell (a note,
a setting) would otherwise end the cell and shift the rest of its Markdown row.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path


def markdown_cell(value: object) -> str:
    return str(value).replace("|", "\\|")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table, one line per row."""
    lines = ["| " + " | ".join(map(markdown_cell, header)) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(map(markdown_cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def write_markdown_page(path: Path, title: str, note: str, header: Sequence[str],
                        rows: Sequence[Sequence[object]], after: str = "") -> None:
    """`# title`, the note, the table and whatever comes `after` it, as one Markdown file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [f"# {title}", note, markdown_table(header, rows)] + ([after] if after else [])
    path.write_text("\n\n".join(parts) + "\n")


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
