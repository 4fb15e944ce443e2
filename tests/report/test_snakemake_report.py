"""`snakemake --report` shows Table 2 as a table: on the report's landing page and as an HTML result,
checked in the report file itself and, where Debian's chromium is installed, in a real headless browser.

Only the table2 rule runs (`--allowed-rules table2`), on condition rows written here, so the whole
workflow need not run first: the report reads whichever results exist.
"""

from __future__ import annotations

import base64
import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.report.test_html import cells_of
from tests.test_snakemake_runs import REPO, WORKFLOW_FILES, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("snakemake_report")]  # one report, built once
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """A copy of the workflow whose Table 2 was made by its rule from hand-written rows, and its report."""
    workdir = tmp_path_factory.mktemp("report")
    for name in WORKFLOW_FILES:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, workdir / name)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    for i, condition in enumerate(config["conditions"]):
        folder = workdir / "results" / "table2" / condition
        folder.mkdir(parents=True)
        for replicate in range(config["detector"]["replicates"]):
            (folder / f"r{replicate}_detections.json").write_text("[]")
        (folder.parent / f"{condition}.json").write_text(json.dumps({
            "condition": condition, "training_set": f"frames <{condition}> & more", "tp": 10 + i, "fp": 4, "fn": 7,
            "precision": 0.7, "recall": 0.6, "f1": 0.65, "map50": 0.3123 + i / 100}))
    coco = workdir / "results" / "data" / "coco" / "real_val.json"
    coco.parent.mkdir(parents=True)
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": [{"id": 1, "name": "person"}]}))
    made = snakemake(workdir, "results/table2.html", "--allowed-rules", "table2")
    assert made.returncode == 0, made.stdout[-3000:]
    reported = snakemake(workdir, "--report", "report.html", "results/table2.html", "--allowed-rules", "table2")
    assert reported.returncode == 0, reported.stdout[-3000:]
    return workdir / "report.html"


def table2_values(report: Path) -> set[str]:
    """Every non-empty value cell of the Table 2 the rule wrote (its CSV: the same rows)."""
    with (report.parent / "results" / "table2.csv").open() as handle:
        return {cell for line in list(csv.reader(handle))[1:] for cell in line if cell}


def report_variable(report: Path, name: str):
    """A JSON value the report page defines in its script (`var <name> = ...;`, after the libraries')."""
    found = re.findall(rf"^\s*var {name} = (.*);$", report.read_text(), re.M)
    assert found, f"no {name} in {report}"
    return json.loads(found[-1])


def test_the_landing_page_and_the_result_hold_table2s_cells(report):
    values = table2_values(report)
    assert {"frames <a> & more", "31.23", "0.65"} <= values
    landing = cells_of(report_variable(report, "workflow_desc"))
    assert values <= set(landing)
    (result,) = [r for path, r in report_variable(report, "results").items() if path.endswith("table2.html")]
    assert result["mime_type"] == "text/html"  # shown in the report, not offered as a download
    shown = base64.b64decode(result["data_uri"].split("base64,", 1)[1]).decode()
    assert values <= set(cells_of(shown))


def test_a_headless_browser_shows_table2s_cells(report):
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if browser is None:
        pytest.skip(f"no headless browser ({', '.join(BROWSERS)}) installed; Debian: apt-get install chromium")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000", "--dump-dom",
         report.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "cg2real-table" in dom, "the landing page's table was not rendered"
    assert table2_values(report) <= set(cells_of(dom))
