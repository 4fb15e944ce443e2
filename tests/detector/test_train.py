"""Detector training: the paper's length and learning-rate rules, and real ultralytics runs.

ultralytics reads its offline switches when first imported, so real training runs in a fresh
Python process and this one never imports ultralytics.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from cg2real.detector.dataset import FrameSource, assemble_condition_set
from cg2real.detector.records import BEST_MAP50, BEST_MAP50_RECORD
from cg2real.detector.train import DetectorTrainSettings, epochs_for_iterations, learning_rate, train_arguments
from cg2real.errors import DataError
from tests.detector.test_dataset import yolo_set

TINY = DetectorTrainSettings(
    model="yolov3-tinyu.yaml", width_multiple=0.125, weights=None, imgsz=64, batch=4, iterations=6,
    optimizer="SGD", lr0=0.5, lr_scaling="linear", lr_per_image=0.0025, lrf=0.01, momentum=0.9,
    weight_decay=0.0005, warmup_epochs=0.0, mosaic=0.0, workers=0, seed=0, amp=False,
)

# Trains TINY in a fresh process; "save_every_epoch" also keeps ultralytics' per-epoch checkpoints,
# from which the test fakes a run killed after its second epoch.
SCRIPT = textwrap.dedent(
    """
    import json, logging, sys
    from pathlib import Path
    from cg2real.detector import train
    from cg2real.settings import settings_from_mapping

    logging.basicConfig(level=logging.INFO)
    settings = settings_from_mapping(train.DetectorTrainSettings, json.loads(sys.argv[1]), "detector.train")
    work, mode = Path(sys.argv[2]), sys.argv[3]
    if mode == "save_every_epoch":
        arguments = train.train_arguments
        train.train_arguments = lambda *args: {**arguments(*args), "save_period": 1}
    train.train_detector(settings, work / "cond" / "data.yaml", "cpu", work / "run")
    """
)


def test_iterations_become_epochs_of_the_condition_set():
    assert epochs_for_iterations(5000, 64, 500) == 640  # the paper's row a
    assert epochs_for_iterations(5000, 64, 1517) == 211  # rows b-g: more frames, fewer epochs
    assert epochs_for_iterations(1, 1, 10) == 1
    with pytest.raises(DataError):
        epochs_for_iterations(10, 4, 0)


def test_learning_rate_rules():
    assert learning_rate(replace(TINY, lr_scaling="none")) == 0.5
    assert learning_rate(TINY) == pytest.approx(4 * 0.0025)  # k x n x eta with k x n = 4
    arguments = train_arguments(TINY, Path("d.yaml"), 3, "cpu", Path("out"))
    assert arguments["nbs"] == arguments["batch"] == 4  # one step per batch: no accumulation
    assert arguments["optimizer"] == "SGD" and arguments["lr0"] == pytest.approx(0.01)


def run_training(work: Path, mode: str) -> subprocess.CompletedProcess:
    from dataclasses import asdict

    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(asdict(TINY)), str(work), mode],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    return done


def read_results(run: Path) -> list[dict]:
    with (run / "ultralytics" / "results.csv").open() as handle:
        return [{k.strip(): v for k, v in row.items()} for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("detector")
    real = yolo_set(work / "real", [f"r{i}" for i in range(8)])
    val = yolo_set(work / "val", [f"v{i}" for i in range(3)])
    assemble_condition_set([FrameSource(real, "all", "real_")], val, 0, work / "cond")
    run_training(work, "save_every_epoch")
    return work


def test_the_configured_learning_rate_is_the_one_used(trained):
    rows = read_results(trained / "run")
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]  # 6 iterations x 4 frames / 8 frames
    assert float(rows[0]["lr/pg0"]) == pytest.approx(0.01, rel=1e-6)  # not lr0 = 0.5, not ultralytics' own
    summary = json.loads((trained / "run/train_summary.json").read_text())
    assert summary["lr0"] == pytest.approx(0.01) and summary["epochs"] == 3


def test_the_kept_checkpoint_is_the_best_map50_epoch(trained):
    rows = read_results(trained / "run")
    map50 = [float(r["metrics/mAP50(B)"]) for r in rows]
    record = json.loads((trained / "run" / BEST_MAP50_RECORD).read_text())
    assert record["epoch"] == map50.index(max(map50)) + 1 and record["map50"] == pytest.approx(max(map50))
    assert (trained / "run" / BEST_MAP50).stat().st_size > 0


def test_a_killed_run_resumes_from_its_last_epoch(trained):
    weights = trained / "run/ultralytics/weights"
    shutil.copyfile(weights / "epoch1.pt", weights / "last.pt")  # as if killed after epoch 2 of 3
    (trained / "run/train_summary.json").unlink()
    done = run_training(trained, "plain")
    assert "resuming detector training from" in done.stdout
    assert json.loads((trained / "run/train_summary.json").read_text())["epochs"] == 3
    assert int(read_results(trained / "run")[-1]["epoch"]) == 3


def test_missing_pretrained_weights_are_named(tmp_path):
    from cg2real.detector.train import train_detector

    with pytest.raises(DataError, match="detector.train.weights = .*yolov3u.pt: file not found"):
        train_detector(replace(TINY, weights=str(tmp_path / "yolov3u.pt")), tmp_path / "data.yaml", "cpu", tmp_path)
