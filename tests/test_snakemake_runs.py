"""Real snakemake runs of the workflow on tiny demo data, each in its own temp folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ("Snakefile", "config.yaml", "config", "rules", "schemas", "envs", "report", "profiles")
STUDY = ("--configfile", "config/study.yaml")  # `make study`: the demo plus its comparison runs and rows
SNAKEMAKE = Path(sys.executable).with_name("snakemake")

TINY_DEMO = {
    "seed": 3, "real_train_frames": 12, "real_val_frames": 8, "real_width": 192, "real_height": 108,
    "cg_frames": 12, "cg_width": 160, "cg_height": 120, "no_person_fraction": 0.15,
}

TINY_CYCLEGAN = {"ngf": 4, "ndf": 4, "load_size": 36, "crop_size": 32, "n_epochs": 1, "n_epochs_decay": 1}

TINY_DETECTOR = {"width_multiple": 0.125, "imgsz": 64, "batch": 4, "iterations": 4, "workers": 0}
TINY_CONDITIONS = {
    "a": {"real": 4},
    "b": {"real": 4, "cg": {"source": "raw", "count": "all"}},
    "c": {"real": 4, "cg": {"source": "cyclegan", "run": "demo", "count": "all"}},
}
TINY_STUDY_CONDITIONS = {
    "c_compact": {"real": 4, "cg": {"source": "compact", "run": "demo", "count": "all"}},
    "c_diffaug": {"real": 4, "cg": {"source": "cyclegan", "run": "diffaug", "count": "all"}},
}

pytestmark = pytest.mark.workflow


def make_workflow(tmp_path: Path, **data_overrides) -> Path:
    """A copy of the workflow in tmp_path with a tiny demo config (plus overrides of `data`), one detector
    replicate per row, and config/study.yaml's runs with tiny rows (`STUDY` adds them)."""
    for name in WORKFLOW_FILES:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["data"]["demo"] = dict(TINY_DEMO)
    config["data"]["crop"]["size"] = 48
    config["cyclegan"]["defaults"].update(TINY_CYCLEGAN)
    config["detector"]["train"].update(TINY_DETECTOR)
    config["conditions"] = TINY_CONDITIONS
    config["detector"]["replicates"] = 1
    config["compact"]["threshold"] = 2.0  # every filter is a candidate: a 2-epoch tiny run has no small scales yet
    for key, value in data_overrides.items():
        config["data"][key] = value if not isinstance(value, dict) else {**config["data"][key], **value}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    study = yaml.safe_load((REPO / "config/study.yaml").read_text())
    study["conditions"] = TINY_STUDY_CONDITIONS
    (tmp_path / "config/study.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    return tmp_path


def snakemake(workdir: Path, *args: str, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run snakemake in `workdir`; its messages (stdout and stderr together) are in `.stdout`."""
    env = {**os.environ, **(environ or {}), "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [str(SNAKEMAKE), "--cores", "2", *args], cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900
    )


def test_data_stage_end_to_end(tmp_path):
    workdir = make_workflow(tmp_path)
    done = snakemake(workdir, "data")
    assert done.returncode == 0, done.stdout[-3000:]
    data = workdir / "results/data"

    real_train = pd.read_csv(data / "manifests/real_train.csv")
    assert len(real_train) == TINY_DEMO["real_train_frames"]
    assert len(pd.read_csv(data / "manifests/cg.csv")) == TINY_DEMO["cg_frames"]
    for dataset in ("real_train", "cg"):
        manifest = pd.read_csv(data / f"manifests/{dataset}.csv")
        kept = manifest[manifest["kept"]]
        assert len(kept) > 0
        summary = json.loads((data / f"summary/{dataset}.json").read_text())
        assert summary["kept"] == len(kept) and summary["frames"] == len(manifest)
        crops = sorted((data / f"crops/{dataset}").glob("*.png"))
        assert len(crops) == len(kept)
        assert cv2.imread(str(crops[0])).shape == (48, 48, 3)
        yolo_images = list((data / f"yolo/{dataset}/images").iterdir())
        assert len(yolo_images) == len(kept)

    # validation: every readable frame, with all its persons in the COCO ground truth
    real_val = pd.read_csv(data / "manifests/real_val.csv")
    coco = json.loads((data / "coco/real_val.json").read_text())
    assert len(coco["images"]) == int(real_val["usable"].sum()) == TINY_DEMO["real_val_frames"]
    assert len(coco["annotations"]) == int(real_val["n_persons"].sum())
    assert (data / "summary/cg_box_heights.png").stat().st_size > 1000

    # nothing left to do: a second run plans no job
    again = snakemake(workdir, "data", "--dry-run")
    assert "Nothing to be done" in again.stdout


def test_whole_workflow_through_distributed_cyclegan(tmp_path):
    """The whole chain with the network blocked (tests/no_network): nothing is downloaded, ultralytics included."""
    workdir = make_workflow(tmp_path)
    attempts = tmp_path / "network_attempts.log"
    python_path = os.pathsep.join(filter(None, [str(REPO / "tests" / "no_network"), os.environ.get("PYTHONPATH")]))
    blocked = {"PYTHONPATH": python_path, "CG2REAL_NETWORK_LOG": str(attempts)}
    done = snakemake(workdir, *STUDY, environ=blocked)
    assert done.returncode == 0, done.stdout[-3000:]
    assert not attempts.exists(), attempts.read_text()
    # the block is in force in the processes it starts: a download attempt is refused and listed
    probe = "import urllib.request; urllib.request.urlopen('http://192.0.2.1/yolo26n.pt', timeout=5)"
    refused = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **blocked}, capture_output=True, text=True)
    assert refused.returncode != 0 and "network blocked by the test" in refused.stderr
    assert "192.0.2.1" in attempts.read_text()
    run = workdir / "results/cyclegan/demo"
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["epoch"].tolist() == [1, 2]
    assert metrics["processes"].tolist() == [2, 2]  # the demo run is a real 2-process gloo run
    assert metrics[["G_A", "D_A", "cycle_A"]].notna().all().all()
    log = (workdir / "logs/train_cyclegan/demo.log").read_text()
    assert "torch.distributed.run --nproc_per_node=2" in log
    assert (run / "G_cg2real.pt").stat().st_size > 0 and (run / "samples/epoch_0002.png").exists()
    # translated CG detector set: same file names, sizes and labels as the CG set
    source, translated = workdir / "results/data/yolo/cg", workdir / "results/translate/demo/full/yolo"
    names = sorted(p.name for p in (source / "images").iterdir())
    assert names and sorted(p.name for p in (translated / "images").iterdir()) == names
    assert cv2.imread(str(translated / "images" / names[0])).shape == cv2.imread(str(source / "images" / names[0])).shape
    assert (translated / "labels" / names[0].replace(".png", ".txt")).read_text() == (
        source / "labels" / names[0].replace(".png", ".txt")).read_text()
    # Table 2: one row per condition, scored on every ground-truth person of the real validation set
    coco = json.loads((workdir / "results/data/coco/real_val.json").read_text())
    conditions = {**TINY_CONDITIONS, **TINY_STUDY_CONDITIONS}
    rows = {c: json.loads((workdir / f"results/table2/{c}.json").read_text()) for c in conditions}
    for condition, row in rows.items():
        assert row["tp"] + row["fn"] == row["n_gt_boxes"] == len(coco["annotations"]), condition
        assert 0.0 <= row["map50"] <= 1.0 and Path(row["weights"]).name == "best_map50.pt"
        # one replicate (the default): the row is replicate r0's, plus its intervals; detections are cached
        replicate = json.loads((workdir / f"results/table2/{condition}/r0.json").read_text())
        assert {key: row[key] for key in replicate} == replicate and row["replicates"] == 1
        assert row["intervals"]["map50"]["low"] is None and (workdir / row["detections"][0]).is_file()
    assert rows["a"]["train_frames"] == 4 and rows["b"]["train_frames"] == rows["c"]["train_frames"] > 4
    selections = [json.loads((workdir / f"results/detector/{c}/data/selection.json").read_text()) for c in "bc"]
    assert selections[0]["sources"][1]["frames"] == selections[1]["sources"][1]["frames"]  # the same CG frames
    compact = json.loads((workdir / "results/compact/demo/summary.json").read_text())
    assert compact["final"]["macs"] < compact["original"]["macs"], compact
    assert sorted(p.name for p in (workdir / "results/translate/demo/compact/yolo/images").iterdir()) == names
    fid = pd.read_csv(workdir / "results/fid/demo.csv")
    assert fid["epoch"].tolist() == [1, 2, 2] and fid["status"].str.startswith("not computed").all()
    study = (workdir / "results/augment_study.md").read_text()
    assert "color,translation,cutout" in study and "not computed" in study  # no Inception weights here
    assert f"{100 * rows['c_diffaug']['map50']:.2f}" in study
    table = (workdir / "results/table2.md").read_text()
    assert all(f"| ours | {c} |" in table for c in conditions)
    assert (workdir / "results/figures/scalability.png").is_file()  # solo and demo: two process counts
    again = snakemake(workdir, *STUDY, "--dry-run")
    assert "Nothing to be done" in again.stdout

    # README's `make row ROW=a STUDY=1`: row a's detector retrains, its row and the table are rebuilt, nothing else
    made_at = {path: path.stat().st_mtime_ns for path in (workdir / "results/table2").glob("*.json")}
    table_at = (workdir / "results/table2.md").stat().st_mtime_ns
    shutil.copy(REPO / "Makefile", workdir / "Makefile")
    venv = Path(sys.executable).parents[1]
    row = subprocess.run(["make", "-o", str(venv / ".cg2real-installed"), "row", "ROW=a", "STUDY=1", f"VENV={venv}"],
                         cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert row.returncode == 0, row.stdout[-3000:]
    assert "rule train_detector:" in row.stdout and "wildcards: condition=a, replicate=0" in row.stdout
    remade = {path.stem for path, at in made_at.items() if path.stat().st_mtime_ns != at}
    assert remade == {"a"} and (workdir / "results/table2.md").stat().st_mtime_ns > table_at


def test_dry_run_and_lint_on_the_repository():
    plan = snakemake(REPO, "--dry-run", "--forceall", "--quiet", "rules")  # whatever results/ holds
    assert plan.returncode == 0, plan.stdout
    for rule in ("demo_data", "select_synthia", "crop_persons", "train_cyclegan", "translate", "train_detector", "evaluate_detector", "table2"):
        assert rule in plan.stdout, rule
    lint = snakemake(REPO, "--lint")
    assert lint.returncode == 0 and "Congratulations" in lint.stdout, lint.stdout


def test_config_value_of_wrong_type_is_rejected(tmp_path):
    workdir = make_workflow(tmp_path, crop={"size": "large"})
    done = snakemake(workdir, "--dry-run")
    assert done.returncode != 0
    assert "'large' is not of type 'integer'" in done.stdout


def test_missing_dataset_names_the_config_key(tmp_path):
    workdir = make_workflow(tmp_path, source="datasets")
    done = snakemake(workdir, "--dry-run")
    assert done.returncode != 0
    assert "data.bdd100k.train_labels = data/bdd100k/labels/bdd100k_labels_images_train.json: missing" in done.stdout
    assert "data.synthia.root" in done.stdout


def test_filter_that_keeps_nothing_stops_with_counts(tmp_path):
    workdir = make_workflow(tmp_path, filter={"min_height_fraction": 1.0})
    done = snakemake(workdir, "data", "--keep-going")
    assert done.returncode != 0
    log = (workdir / "logs/select_bdd100k/train.log").read_text()
    assert "filter kept 0 of 12 frames" in log and "person_too_small" in log
    kept_copy = workdir / "logs/select_bdd100k/train.manifest.csv"  # the failed job's output is deleted
    assert f"Every frame and why it was dropped: {kept_copy.relative_to(workdir)}" in log
    assert set(pd.read_csv(kept_copy)["reason"]) <= {"person_too_small", "no_person", "no_visible_person"}


def real_layout_tree(root: Path) -> None:
    """A few files in the layouts of the real BDD100K and SYNTHIA-RAND-CVPR16 (enough to plan)."""
    for split in ("train", "val"):
        image = root / f"data/bdd100k/images/100k/{split}/b1c66a42-6f7d68ca.jpg"
        image.parent.mkdir(parents=True)
        cv2.imwrite(str(image), np.zeros((720, 1280, 3), np.uint8))
        labels = [{"name": image.name, "labels": [{"category": "person", "box2d": {"x1": 600, "y1": 200, "x2": 700, "y2": 500}}]}]
        label_file = root / f"data/bdd100k/labels/bdd100k_labels_images_{split}.json"
        label_file.parent.mkdir(parents=True, exist_ok=True)
        label_file.write_text(json.dumps(labels))
    synthia = root / "data/SYNTHIA_RAND_CVPR16"
    (synthia / "RGB").mkdir(parents=True)
    (synthia / "GTTXT").mkdir()
    cv2.imwrite(str(synthia / "RGB/0000000.png"), np.zeros((720, 960, 3), np.uint8))
    (synthia / "GTTXT/0000000.txt").write_text("\n".join(" ".join(["10"] * 960) for _ in range(720)) + "\n")
    (root / "data/weights").mkdir(parents=True)
    (root / "data/weights/darknet53.conv.74").write_bytes(b"placeholder: planning only checks that it exists")


def paper_workflow(tmp_path: Path) -> Path:
    for name in WORKFLOW_FILES:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    paper = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    paper["metrics"]["require_weights"] = False  # the Inception weights are not on this machine
    (tmp_path / "config/paper.yaml").write_text(yaml.safe_dump(paper, sort_keys=False))
    return tmp_path


def test_paper_plan_on_the_real_data_layouts(tmp_path):
    workdir = paper_workflow(tmp_path)
    paper = ("--configfile", "config/paper.yaml", "--replace-workflow-config")
    missing = snakemake(workdir, *paper, "--dry-run")
    assert missing.returncode != 0 and "data.synthia.root = data/SYNTHIA_RAND_CVPR16: missing" in missing.stdout
    real_layout_tree(workdir)
    plan = snakemake(workdir, *paper, "--dry-run")
    assert plan.returncode == 0, plan.stdout[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.stdout, re.MULTILINE))
    assert counts["train_cyclegan"] == "5" and counts["train_detector"] == counts["evaluate_detector"] == "7"
    assert "demo_data" not in counts and counts["select_bdd100k"] == "2"
    assert re.search(r"results/paper/cyclegan/gpus512/G_cg2real\.pt[\s\S]*?nodes=64", plan.stdout)  # 8 GPUs per node
    (workdir / "data/weights/darknet53.conv.74").unlink()
    no_weights = snakemake(workdir, *paper, "--dry-run")
    assert no_weights.returncode != 0 and "detector.train.weights = data/weights/darknet53.conv.74: missing" in no_weights.stdout


def test_paths_with_spaces_and_shell_syntax_reach_the_programs_as_text(tmp_path):
    """Every path placeholder is quoted: a space does not split it, a quote does not end it and `$(...)`
    is not run."""
    workdir = make_workflow(tmp_path)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["results_dir"] = results = "my results/it's \"$(touch PWNED)\""
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = snakemake(workdir, "data")
    assert done.returncode == 0, done.stdout[-3000:]
    assert not (workdir / "PWNED").exists()
    assert len(list((workdir / results / "data/crops/cg").glob("*.png"))) > 0
    assert (workdir / results / "benchmarks/crop_persons/cg.tsv").is_file()


def processes_in(folder: Path) -> list[int]:
    """Pids of the live processes whose working directory is `folder` (a run's jobs all start there)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")) == folder:
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_readme_recovery_after_kill_9_of_the_whole_run(tmp_path):
    """kill -9 of Snakemake and everything it started mid-CycleGAN: nothing of it lives on, and the
    README's two lines (`snakemake --unlock && snakemake --cores 2`) resume the training to the end."""
    workdir = make_workflow(tmp_path).resolve()
    target = "results/cyclegan/demo/G_cg2real.pt"
    env = {**os.environ, "PATH": f"{SNAKEMAKE.parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.Popen([str(SNAKEMAKE), "--cores", "2", target], cwd=workdir, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = workdir / "results/cyclegan/demo/checkpoints"
    deadline = time.monotonic() + 600
    while not list(checkpoints.glob("epoch_*.pt")) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.5)
    assert run.poll() is None and list(checkpoints.glob("epoch_*.pt")), "the run ended before its first checkpoint"
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    time.sleep(5)
    assert processes_in(workdir) == []  # torchrun's workers died with their launcher

    assert "Directory cannot be locked" in snakemake(workdir, target).stdout  # the lock kill -9 left
    assert snakemake(workdir, "--unlock").returncode == 0
    done = snakemake(workdir, target)
    assert done.returncode == 0, done.stdout[-3000:]
    log = (workdir / "logs/train_cyclegan/demo.log").read_text()
    assert "resumed from" in log and (workdir / target).stat().st_size > 0
    assert pd.read_csv(workdir / "results/cyclegan/demo/metrics.csv")["epoch"].tolist() == [1, 2]
