"""ultralytics' plots of each detector training, copied where the report's file patterns find them."""

from __future__ import annotations

import logging

import pytest

from cg2real.errors import DataError
from cg2real.report.detector_plots import gather_detector_plots


def test_present_plots_are_copied_and_absent_ones_skipped(tmp_path, caplog):
    with_plots, without = tmp_path / "a" / "ultralytics", tmp_path / "b" / "ultralytics"
    for run in (with_plots, without):
        run.mkdir(parents=True)
        (run / "results.csv").write_text("epoch\n1\n")
    for name in ("results.png", "BoxPR_curve.png", "PR_curve.png", "confusion_matrix.png", "labels.jpg"):
        (with_plots / name).write_bytes(name.encode())
    out = tmp_path / "plots"
    with caplog.at_level(logging.INFO):
        copied = gather_detector_plots({"a/r0": with_plots, "b/r0": without}, out)
    assert copied == {"a/r0": ["PR_curve", "confusion_matrix", "results"], "b/r0": []}
    assert sorted(p.name for p in (out / "a" / "r0").iterdir()) == ["PR_curve.png", "confusion_matrix.png",
                                                                    "results.png"]
    assert (out / "a/r0/PR_curve.png").read_bytes() == b"BoxPR_curve.png"  # the current name wins
    assert (out / "b" / "r0").is_dir() and not any((out / "b" / "r0").iterdir())
    assert "b/r0: no plots (detector.train.plots is off)" in caplog.text


def test_a_missing_run_folder_is_an_error(tmp_path):
    with pytest.raises(DataError, match="run folder of detector training c/r1 not found"):
        gather_detector_plots({"c/r1": tmp_path / "nowhere"}, tmp_path / "plots")


def test_plots_are_on_by_default_and_off_in_the_demo():
    """What the report can show depends on detector.train.plots reaching ultralytics' `plots` argument."""
    import dataclasses
    from pathlib import Path

    import yaml

    from cg2real.detector.train import train_arguments
    from tests.detector.test_train import TINY

    repo = Path(__file__).resolve().parents[2]
    schema = yaml.safe_load((repo / "schemas" / "config.schema.yaml").read_text())
    train = schema["properties"]["detector"]["properties"]["train"]
    assert train["properties"]["plots"]["default"] is True and "plots" in train["required"]
    demo, paper = (yaml.safe_load((repo / name).read_text()) for name in ("config.yaml", "config/paper.yaml"))
    assert demo["detector"]["train"]["plots"] is False and paper["detector"]["train"]["plots"] is True
    for plots in (True, False):
        arguments = train_arguments(dataclasses.replace(TINY, plots=plots), Path("data.yaml"), 1, "cpu", repo)
        assert arguments["plots"] is plots
