"""The augmentation study table from hand-made FID CSVs, IS JSONs, run settings and Table 2 rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cg2real.__main__ import main
from cg2real.errors import DataError
from cg2real.report.augment_study import COLUMNS, StudyRun, study_runs_from_json, write_augment_study
from cg2real.metrics.fid_curve import FIELDS

OFF = {"diffaug_policy": "", "diffaug_shared": False, "lambda_bcr": 0.0, "bcr_policy": "", "classic_policies": [],
       "classic_contrast": 1.5, "lr": 0.0002}
AUGMENTED = {**OFF, "diffaug_policy": "color,translation,cutout", "diffaug_shared": True, "lambda_bcr": 10.0,
             "bcr_policy": "translation", "classic_policies": ["hflip", "contrast"]}


def fid_csv(path: Path, values: list[str]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for epoch, value in enumerate(values, start=1):
            status = "computed" if value else "not computed: Inception weights missing at x"
            writer.writerow({"epoch": epoch, "generator": f"G_{epoch}.pt", "fid": value, "status": status})
    return path


def is_json(path: Path, mean: float | None, std: float | None) -> Path:
    path.write_text(json.dumps({"is_mean": mean, "is_std": std, "status": "computed" if mean else "not computed"}))
    return path


@pytest.fixture
def manifest(tmp_path) -> list[dict]:
    row = tmp_path / "c_aug.json"
    row.write_text(json.dumps({"condition": "c_aug", "map50": 0.41234, "f1": 0.5}))
    return [
        {"run": "demo", "fid": str(fid_csv(tmp_path / "demo.csv", ["250.5", "231.456"])),
         "is": str(is_json(tmp_path / "demo.json", 1.23456, 0.0456)), "settings": OFF, "row": None},
        {"run": "aug", "fid": str(fid_csv(tmp_path / "aug.csv", ["", ""])),
         "is": str(is_json(tmp_path / "aug.json", None, None)), "settings": AUGMENTED, "row": str(row)},
    ]


def test_one_row_per_run_with_final_fid_is_and_detector_map(tmp_path, manifest):
    out = tmp_path / "report/augment_study.md"
    rows = write_augment_study(study_runs_from_json(json.dumps(manifest)), out)
    assert rows == [
        ("demo", "off", "off", "off", "231.46", "1.235 +- 0.046", "not in Table 2"),  # the LAST FID row is final
        ("aug", "color,translation,cutout (same transform for real and fake)", "lambda 10, T = translation",
         "hflip, contrast (contrast x1.5)", "not computed", "not computed", "41.23 (condition c_aug)"),
    ]
    text = out.read_text()
    assert text.startswith("# Augmentation study\n")
    assert "| " + " | ".join(COLUMNS) + " |" in text
    assert "| demo | off | off | off | 231.46 | 1.235 +- 0.046 | not in Table 2 |" in text
    assert len([line for line in text.splitlines() if line.startswith("|")]) == 2 + 2  # header, separator, 2 runs


def test_cli_writes_the_table_from_a_json_manifest(tmp_path, manifest):
    out = tmp_path / "augment_study.md"
    assert main(["augment-study", "--manifest", json.dumps(manifest), "--out", str(out)]) == 0
    assert "| aug | color,translation,cutout" in out.read_text()


def test_missing_inputs_and_bad_manifests_are_clear_errors(tmp_path, manifest):
    manifest[0]["fid"] = str(tmp_path / "nowhere.csv")
    with pytest.raises(DataError, match="FID CSV of run demo not found: .*nowhere.csv"):
        write_augment_study(study_runs_from_json(json.dumps(manifest)), tmp_path / "t.md")
    with pytest.raises(DataError, match="not valid JSON"):
        study_runs_from_json("{run: demo")
    with pytest.raises(DataError, match="lacks is, settings"):
        study_runs_from_json(json.dumps([{"run": "demo", "fid": "x.csv"}]))
    no_keys = StudyRun("old", Path(manifest[1]["fid"]), Path(manifest[1]["is"]), {"lr": 0.1}, None)
    with pytest.raises(DataError, match="settings of run old lack diffaug_policy"):
        write_augment_study([no_keys], tmp_path / "t.md")
