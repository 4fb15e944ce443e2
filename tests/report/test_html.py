"""Tables as HTML for the report: every cell there, escaped, from the same rows as the Markdown."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser

import pytest

from cg2real.report.html import html_table, shown_columns, write_html_table
from cg2real.report.table2 import COLUMNS, write_table2


class CellReader(HTMLParser):
    """The text of every th/td, in document order, as a browser would show it (entities decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._open = False

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self.cells.append("")
            self._open = True

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self._open = False

    def handle_data(self, data):
        if self._open:
            self.cells[-1] += data


def row(condition: str, map50: float) -> dict:
    """A condition's row as table2-row writes it (one replicate, no intervals)."""
    return {"condition": condition, "training_set": f"set {condition}", "tp": 3, "fp": 1, "fn": 2,
            "precision": 0.75, "recall": 0.6, "f1": 2 / 3, "map50": map50}


def cells_of(html: str) -> list[str]:
    reader = CellReader()
    reader.feed(html)
    return reader.cells


def test_cells_are_escaped_and_read_back_verbatim():
    header = ("name", "value <b>")
    rows = [("a & b", "<script>alert(1)</script>"), ("x|y", 3.5)]
    text = html_table(header, rows)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert cells_of(text) == ["name", "value <b>", "a & b", "<script>alert(1)</script>", "x|y", "3.5"]
    assert '<td class="number">3.5</td>' in text


def test_columns_empty_in_every_row_are_left_out():
    header = ("a", "empty", "b")
    assert shown_columns(header, [("1", "", 2), ("", None, 3)]) == [0, 2]
    assert cells_of(html_table(header, [("1", "", 2)])) == ["a", "b", "1", "2"]
    assert shown_columns(header, []) == [0, 1, 2]  # a table without rows still says what it would hold


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match="2 cells under a header of 3"):
        html_table(("a", "b", "c"), [("1", "2")])


def test_table2_html_holds_every_nonempty_cell_of_its_csv(tmp_path):
    files = []
    for name, value in (("a", 0.3434), ("c", 0.4139)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(row(name, value)))
    rows = write_table2(files, tmp_path / "t.csv", tmp_path / "t.md", with_paper=True)
    write_html_table(tmp_path / "t.html", "Table 2", COLUMNS, rows)
    page = (tmp_path / "t.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<title>Table 2</title>" in page
    with (tmp_path / "t.csv").open() as handle:
        table = list(csv.reader(handle))
    shown = set(cells_of(page))
    assert {cell for line in table[1:] for cell in line if cell} <= shown  # every value
    assert {"41.39", "7.05", "none (1 replicate)", "paper 000", "Δ mAP vs a"} <= shown
    assert "Δ mAP vs b" not in shown  # no row b: its difference columns are empty, left out
