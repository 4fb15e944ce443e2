"""The text twins of every report table."""

from __future__ import annotations

import csv

from cg2real.report.tables import markdown_table, write_csv, write_markdown_page


def test_a_pipe_in_a_cell_stays_in_its_cell():
    table = markdown_table(("setting", "n"), [("color|translation", 3)])
    assert table.splitlines()[2] == "| color\\|translation | 3 |"
    assert table.splitlines()[1] == "| --- | --- |"


def test_the_page_and_the_csv_hold_the_same_rows(tmp_path):
    rows = [("a", 1.5, ""), ("b", 2, "x")]
    write_csv(tmp_path / "t.csv", ("name", "value", "note"), rows)
    write_markdown_page(tmp_path / "t.md", "T", "A note.", ("name", "value", "note"), rows, after="Below.")
    with (tmp_path / "t.csv").open() as handle:
        assert list(csv.reader(handle)) == [["name", "value", "note"], ["a", "1.5", ""], ["b", "2", "x"]]
    page = (tmp_path / "t.md").read_text()
    assert page.startswith("# T\n\nA note.\n\n| name | value | note |") and page.endswith("| b | 2 | x |\n\nBelow.\n")
