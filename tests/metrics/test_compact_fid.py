"""FID per prune step of a compaction (`compact-fid`): its rows, computed and not computed.

The compaction is made by hand from the compact stage's own pieces (prune, save, report), with
a rolled-back step, so no training runs. Inception runs on stand-in random weights, so the numbers
check the plumbing (which generator meets which crops), not FID values of the paper.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from cg2real.__main__ import main
from cg2real.compact.compact import Cost, card_for, report_row, save_step, write_report
from cg2real.compact.finetune import TrainedRun
from cg2real.compact.generator import CompactGenerator
from cg2real.compact.paths import REPORT, SUMMARY, step_folder
from cg2real.compact.prune import channels_to_keep, prune
from cg2real.cyclegan.networks import define_generator
from cg2real.errors import DataError
from cg2real.metrics.compact_fid import FIELDS, compaction_generators, write_compact_fid
from cg2real.metrics.inception import WEIGHTS_FILE
from cg2real.translate.translate import load_generator
from tests.metrics.test_fid_curve import crops, run  # noqa: F401  (fixtures)
from tests.metrics.test_inception import write_fake_fid_weights

CPU = torch.device("cpu")
LOSSES = {"gan": 1.0, "cycle": 2.0, "identity": 0.5, "l1": 0.1}


@pytest.fixture(scope="module")
def fake_weights(tmp_path_factory) -> Path:
    return write_fake_fid_weights(tmp_path_factory.mktemp("compact_fid") / WEIGHTS_FILE)


@pytest.fixture
def compaction(tmp_path, run) -> Path:  # noqa: F811  (the run fixture)
    """A compaction of the run's generator: steps 0 and 1 kept, step 2 rolled back (not saved)."""
    resnet = define_generator("resnet_6blocks", 4)
    resnet.load_state_dict(torch.load(run / "G_cg2real.pt", weights_only=True))
    trained = TrainedRun(g_a=resnet, g_b=None, d_a=None, settings={"generator": "resnet_6blocks", "ngf": 4},
                         checkpoint=run / "checkpoints/epoch_0003.pt")
    out = tmp_path / "compact"
    generators = [CompactGenerator.from_resnet(resnet)]
    for _ in range(2):
        generators.append(prune(generators[-1], channels_to_keep(generators[-1], threshold=10.0, max_fraction=0.2)))
    rows = []
    for step, generator in enumerate(generators):
        cost = Cost(params=1000 - 100 * step, macs=9000 - 1000 * step, latency_ms=5.0 - step)
        rolled_back = step == 2
        rows.append(report_row(step, generator, cost, 3 * bool(step), LOSSES, 0.5, rolled_back))
        if not rolled_back:
            save_step(generator, card_for(generator, trained), out, step)
    write_report(rows, out / REPORT)
    (out / SUMMARY).write_text(json.dumps({"original": asdict(Cost(params=1200, macs=11000, latency_ms=6.5))}))
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_fid_of_the_run_then_every_kept_step_in_order(tmp_path, run, crops, compaction, fake_weights):  # noqa: F811
    real, cg = crops
    out = tmp_path / "fid/compact/run.csv"
    write_compact_fid(compaction, run, real, cg, fake_weights, out, batch_size=2, device=CPU, require_weights=True)
    rows = read_csv(out)
    assert list(rows[0]) == list(FIELDS)
    assert [(r["step"], r["generator"], r["macs"], r["params"], r["latency_ms"], r["status"]) for r in rows] == [
        ("", "original", "11000", "1200", "6.5", "computed"),
        ("0", "step_000", "9000", "1000", "5.0", "computed"),
        ("1", "step_001", "8000", "900", "4.0", "computed")]  # step 2 was rolled back: no row
    assert all(r["real_images"] == "3" and r["translated_images"] == "3" for r in rows)
    fids = [float(r["fid"]) for r in rows]
    assert all(math.isfinite(f) and f > 0 for f in fids) and fids[1] != fids[2]  # the cut changed the output


def test_the_generators_measured_are_the_runs_then_the_kept_steps_folders(run, compaction):  # noqa: F811
    """Which file meets the crops (the FID of a given generator is `fid_curve`'s, tested there)."""
    measured = [(g.weights, g.model_card) for g in compaction_generators(compaction, run)]
    assert measured == [(run / "G_cg2real.pt", run / "model.json"),
                        *((step_folder(compaction, k) / "G_cg2real.pt", step_folder(compaction, k) / "model.json")
                          for k in (0, 1))]
    widths = [sum(load_generator(*files, CPU).widths.values()) for files in measured[1:]]
    assert widths[1] < widths[0]  # step 1's generator is the pruned one


def test_missing_weights_mark_every_step_not_computed_or_stop(tmp_path, run, crops, compaction):  # noqa: F811
    real, cg = crops
    missing = tmp_path / "nowhere" / WEIGHTS_FILE
    settings = {"device": "cpu", "weights": str(missing), "batch_size": 2, "require_weights": False, "is_splits": 10}
    args = ["compact-fid", "--compact-dir", str(compaction), "--run-dir", str(run), "--real-crops", str(real),
            "--cg-crops", str(cg)]
    assert main([*args, "--settings", json.dumps(settings), "--out", str(tmp_path / "report.csv")]) == 0
    rows = read_csv(tmp_path / "report.csv")
    assert [(r["step"], r["generator"], r["macs"]) for r in rows] == [
        ("", "original", "11000"), ("0", "step_000", "9000"), ("1", "step_001", "8000")]
    assert all(r["fid"] == "" and r["status"] == f"not computed: Inception weights missing at {missing}" for r in rows)

    settings["require_weights"] = True
    assert main([*args, "--settings", json.dumps(settings), "--out", str(tmp_path / "required.csv")]) == 2
    assert not (tmp_path / "required.csv").exists()


def test_a_kept_step_without_its_generator_is_an_error(tmp_path, run, compaction):  # noqa: F811
    (step_folder(compaction, 1) / "G_cg2real.pt").unlink()
    with pytest.raises(DataError, match="step 1 of .* was kept but not saved"):
        write_compact_fid(compaction, run, tmp_path, tmp_path, tmp_path / "missing.pth", tmp_path / "out.csv",
                          batch_size=2, device=CPU)
