"""FID per saved epoch of a run, its CSV and plot, and the `fid-curve` / `plot-fid` commands.

Inception runs on stand-in random weights (the real file cannot be fetched here), so the numbers
check the plumbing (which images meet which generator), not FID values of the paper.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import pytest
import torch

from cg2real.__main__ import main
from cg2real.metrics import fid_curve
from cg2real.cyclegan.networks import define_generator
from cg2real.errors import DataError
from cg2real.metrics.fid_curve import (
    FIELDS,
    NOT_COMPUTED_TEXT,
    plot_fid_curves,
    run_generators,
    write_fid_curve,
)
from cg2real.metrics.inception import WEIGHTS_FILE, fid_of_image_sets, load_fid_inception
from cg2real.translate.translate import load_generator, translate_images
from tests.metrics.test_inception import images, write_fake_fid_weights

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def fake_weights(tmp_path_factory) -> Path:
    return write_fake_fid_weights(tmp_path_factory.mktemp("fid") / WEIGHTS_FILE)


def write_crops(folder: Path, seed: int, count: int = 3) -> Path:
    folder.mkdir(parents=True)
    for i, image in enumerate(images(seed, count)):
        cv2.imwrite(str(folder / f"{i}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    (folder / "crops.csv").write_text("name\n")  # crop folders hold their table too; not an image
    return folder


@pytest.fixture
def run(tmp_path) -> Path:
    """A run folder trained for 3 epochs, with the generator of epoch 2 kept and the final one."""
    root = tmp_path / "run"
    (root / "generators").mkdir(parents=True)
    for seed, path in ((1, root / "generators/G_cg2real_epoch_0002.pt"), (2, root / "G_cg2real.pt")):
        torch.manual_seed(seed)
        torch.save(define_generator("resnet_6blocks", 4).state_dict(), path)
    (root / "model.json").write_text(json.dumps({"generator": "resnet_6blocks", "ngf": 4, "epochs": 3}))
    return root


@pytest.fixture
def crops(tmp_path) -> tuple[Path, Path]:
    return write_crops(tmp_path / "real", seed=10), write_crops(tmp_path / "cg", seed=20)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_generators_of_a_run_in_epoch_order_final_last(run):
    assert [(epoch, path.name) for epoch, path in run_generators(run)] == [
        (2, "G_cg2real_epoch_0002.pt"), (3, "G_cg2real.pt")]
    (run / "model.json").unlink()
    with pytest.raises(DataError, match="model card not found"):
        run_generators(run)


def test_fid_per_epoch_compares_real_crops_with_translated_cg_crops(tmp_path, run, crops, fake_weights):
    real, cg = crops
    out = tmp_path / "fid/run.csv"
    write_fid_curve(run, real, cg, fake_weights, out, batch_size=2, device=CPU, require_weights=True)
    rows = read_csv(out)
    assert list(rows[0]) == list(FIELDS)
    assert [(r["epoch"], r["generator"], r["status"]) for r in rows] == [
        ("2", "G_cg2real_epoch_0002.pt", "computed"), ("3", "G_cg2real.pt", "computed")]
    assert all(r["real_images"] == "3" and r["translated_images"] == "3" for r in rows)
    fids = [float(r["fid"]) for r in rows]
    assert all(math.isfinite(f) and f > 0 for f in fids) and fids[0] != fids[1]  # two generators, two values

    model = load_fid_inception(fake_weights, CPU)
    generator = load_generator(run / "G_cg2real.pt", run / "model.json", CPU)
    real_images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(real.glob("*.png"))]
    cg_images = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in sorted(cg.glob("*.png"))]
    expected = fid_of_image_sets(model, real_images, translate_images(generator, cg_images, CPU), 4, CPU)
    assert fids[1] == pytest.approx(expected, rel=1e-6)


def test_missing_weights_mark_fid_not_computed_or_stop(tmp_path, run, crops):
    real, cg = crops
    missing = tmp_path / "hub/checkpoints" / WEIGHTS_FILE
    out = tmp_path / "run.csv"
    write_fid_curve(run, real, cg, missing, out, batch_size=2, device=CPU)
    rows = read_csv(out)
    assert [r["generator"] for r in rows] == ["G_cg2real_epoch_0002.pt", "G_cg2real.pt"]
    assert all(r["fid"] == "" and r["status"] == f"not computed: Inception weights missing at {missing}" for r in rows)
    with pytest.raises(DataError, match=f"not found at {missing}"):
        write_fid_curve(run, real, cg, missing, tmp_path / "other.csv", batch_size=2, device=CPU, require_weights=True)
    assert not (tmp_path / "other.csv").exists()


def write_curve(path: Path, rows: list[tuple[int, str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for epoch, generator, fid in rows:
            status = "computed" if fid else "not computed: Inception weights missing at x"
            writer.writerow({"epoch": epoch, "generator": generator, "fid": fid, "status": status})
    return path


def test_plot_has_one_line_per_run_with_numbers(tmp_path, monkeypatch):
    gpus4 = write_curve(tmp_path / "gpus4.csv", [(1, "G_cg2real_epoch_0001.pt", "300"),
                                                 (2, "G_cg2real_epoch_0002.pt", "250"), (2, "G_cg2real.pt", "250")])
    gpus8 = write_curve(tmp_path / "gpus8.csv", [(2, "G_cg2real.pt", "280")])  # final generator only
    missing = write_curve(tmp_path / "missing.csv", [(2, "G_cg2real.pt", "")])
    out = tmp_path / "plots/fid.png"
    figures = []
    monkeypatch.setattr(fid_curve.plt, "close", figures.append)
    assert plot_fid_curves({"gpus4": gpus4, "gpus8": gpus8, "missing": missing}, out) == ["missing"]
    assert cv2.imread(str(out)).shape == (400, 600, 3)
    (axes,) = figures[0].axes
    drawn = [(list(line.get_xdata()), list(line.get_ydata())) for line in axes.lines]
    assert drawn == [([1, 2], [300.0, 250.0]), ([2], [250.0]), ([], []), ([2], [280.0])]  # line, final star per run
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["gpus4", "gpus8"]
    assert "not computed: missing" in axes.get_title()


def test_plot_without_numbers_says_fid_was_not_computed(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(fid_curve.plt, "close", figures.append)
    missing = write_curve(tmp_path / "missing.csv", [(1, "G_cg2real_epoch_0001.pt", ""), (1, "G_cg2real.pt", "")])
    out = tmp_path / "fid.png"
    assert plot_fid_curves({"demo": missing}, out) == ["demo"]
    assert cv2.imread(str(out)).shape == (400, 600, 3)
    (axes,) = figures[0].axes
    assert [text.get_text() for text in axes.texts] == [NOT_COMPUTED_TEXT]
    assert not axes.lines


def test_cli_missing_weights_exit_2_when_required_else_csv_not_computed(tmp_path, run, crops, caplog):
    real, cg = crops
    missing = tmp_path / "nowhere" / WEIGHTS_FILE
    settings = {"device": "cpu", "weights": str(missing), "batch_size": 16, "require_weights": True, "is_splits": 10}
    args = ["fid-curve", "--run-dir", str(run), "--real-crops", str(real), "--cg-crops", str(cg)]
    assert main([*args, "--settings", json.dumps(settings), "--out", str(tmp_path / "required.csv")]) == 2
    assert f"not found at {missing}: place the file {WEIGHTS_FILE} at exactly that path" in caplog.text
    assert not (tmp_path / "required.csv").exists()

    settings["require_weights"] = False
    assert main([*args, "--settings", json.dumps(settings), "--out", str(tmp_path / "report.csv")]) == 0
    assert {r["status"] for r in read_csv(tmp_path / "report.csv")} == {
        f"not computed: Inception weights missing at {missing}"}
    plot = tmp_path / "fid.png"
    assert main(["plot-fid", "--csv", f"demo={tmp_path / 'report.csv'}", "--out", str(plot)]) == 0
    assert plot.is_file()
    with pytest.raises(SystemExit, match="2"):  # the run name is missing
        main(["plot-fid", "--csv", str(tmp_path / "report.csv"), "--out", str(plot)])
