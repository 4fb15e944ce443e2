"""Result tables as HTML, for Snakemake's report: it displays images, HTML and PDF, and offers any
other file (Markdown, CSV) only as a download, so a table needs an HTML twin to be seen there.

A table is rendered from the very header and rows its Markdown twin is written from, whatever
columns those hold (Table 2 gains columns over time); every cell is escaped. A column empty in
every row (say the differences from row b in a table without row b) is left out: the CSV and the
Markdown keep it. The same file is shown in the report's result view and embedded in its landing
page (report/workflow.rst), so its style is scoped to one class: unscoped rules would restyle
the report around it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

TABLE_CLASS = "cg2real-table"
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?(%|x)?")  # right-aligned, so digits line up
_STYLE = f"""
div.{TABLE_CLASS} {{ overflow-x: auto; font-family: sans-serif; font-size: 13px; }}
div.{TABLE_CLASS} table {{ border-collapse: collapse; margin: 0.5em 0; }}
div.{TABLE_CLASS} th, div.{TABLE_CLASS} td {{ border: 1px solid #ccc; padding: 2px 6px; white-space: nowrap; }}
div.{TABLE_CLASS} th {{ background: #f0f0f0; }}
div.{TABLE_CLASS} td.number {{ text-align: right; }}
div.{TABLE_CLASS} p {{ max-width: 60em; white-space: normal; }}
"""


def _text(cell: object) -> str:
    return "" if cell is None else str(cell)


def shown_columns(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[int]:
    """Indexes of the columns with a value in at least one row (all of them when there is no row)."""
    if not rows:
        return list(range(len(header)))
    return [i for i in range(len(header)) if any(_text(row[i]).strip() for row in rows)]


def _cell(tag: str, value: object) -> str:
    text = _text(value)
    number = ' class="number"' if tag == "td" and _NUMBER.fullmatch(text) else ""
    return f"<{tag}{number}>{html.escape(text)}</{tag}>"


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A `<table>` of the rows under the header (escaped; all-empty columns left out)."""
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells under a header of {len(header)}: {row!r}")
    columns = shown_columns(header, rows)
    head = "".join(_cell("th", header[i]) for i in columns)
    body = "\n".join("<tr>" + "".join(_cell("td", row[i]) for i in columns) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def html_page(title: str, header: Sequence[str], rows: Sequence[Sequence[object]], note: str = "") -> str:
    """A whole HTML document: the title, an optional note under it, and the table."""
    paragraph = f"<p>{html.escape(note)}</p>\n" if note else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        f'<div class="{TABLE_CLASS}">\n<h3>{html.escape(title)}</h3>\n{paragraph}{html_table(header, rows)}\n</div>\n'
        "</body>\n</html>\n"
    )


def write_html_table(path: Path, title: str, header: Sequence[str], rows: Sequence[Sequence[object]],
                     note: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html_page(title, header, rows, note), encoding="utf-8")
