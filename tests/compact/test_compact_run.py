"""End to end: `python -m cg2real compact-generator` on a synthetic run, and the config section."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from cg2real.__main__ import main
from cg2real.compact.compact import CompactSettings, adversarial_rose
from cg2real.compact.finetune import SparsityTrainer
from cg2real.settings import settings_from_mapping
from cg2real.translate.translate import load_generator, translate_images

REPO = Path(__file__).resolve().parents[2]
SETTINGS = {
    "lambda_l1": 0.01, "threshold": 10.0, "prune_step": 0.2, "target_measure": "macs", "target_fraction": 0.5,
    "max_steps": 4, "sparsity_epochs": 1, "finetune_epochs": 1, "lr": 0.0002, "scale_lr": 0.05, "batch_size": 2,
    "num_workers": 0, "input_size": 32, "latency_repeats": 1, "seed": 0, "max_adversarial_rise": 1000.0,
}


def run_cli(run_dir: Path, crops_a: Path, crops_b: Path, out: Path, settings: dict) -> int:
    return main(["compact-generator", "--run-dir", str(run_dir), "--crops-a", str(crops_a), "--crops-b",
                 str(crops_b), "--settings", json.dumps(settings), "--device", "cpu", "--out", str(out)])


def test_compaction_reaches_target_and_writes_outputs(tiny_run, tmp_path):
    run_dir, crops_a, crops_b = tiny_run
    out = tmp_path / "compact"
    assert run_cli(run_dir, crops_a, crops_b, out, SETTINGS) == 0
    with (out / "report.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    summary = json.loads((out / "summary.json").read_text())
    macs = [int(row["macs"]) for row in rows]
    assert [int(row["step"]) for row in rows] == list(range(len(rows)))
    assert all(later < earlier for earlier, later in zip(macs, macs[1:]))
    # the target is reached before max_steps stops the loop: this run is sized to get there
    assert summary["target"]["reached"] and summary["steps"] < SETTINGS["max_steps"], summary
    assert summary["target"]["reached"] == (summary["final"]["macs"] <= 0.5 * summary["original"]["macs"])
    assert summary["steps"] == len(rows) - 1 and summary["ratio"]["macs"] > 1 and summary["ratio"]["params"] > 1
    assert float(rows[-1]["l1"]) == 0.0 and float(rows[0]["l1"]) > 0  # the last retrain has no penalty
    generator = load_generator(out / "G_cg2real.pt", out / "model.json", torch.device("cpu"))
    assert generator.widths == summary["widths"]
    frame = np.random.default_rng(0).integers(0, 256, (30, 42, 3), dtype=np.uint8)
    assert translate_images(generator, [frame], torch.device("cpu"))[0].shape == frame.shape
    assert [row["rolled_back"] for row in rows] == ["False"] * len(rows) and summary["rolled_back_step"] is None
    assert all(float(row["adversarial"]) > 0 for row in rows)
    # every kept step's generator, loadable like the final one, for FID per step
    assert sorted(p.name for p in (out / "steps").iterdir()) == [f"step_{int(row['step']):03d}" for row in rows]
    for row in rows:
        step = load_generator(out / f"steps/step_{int(row['step']):03d}/G_cg2real.pt",
                              out / f"steps/step_{int(row['step']):03d}/model.json", torch.device("cpu"))
        assert " ".join(f"{k}={v}" for k, v in step.widths.items()) == row["widths"]


def test_rise_check_is_relative_to_the_kept_step():
    assert not adversarial_rose(0.5, 0.55, 0.1) and adversarial_rose(0.5, 0.56, 0.1)
    assert adversarial_rose(0.5, 0.51, 0.0) and not adversarial_rose(0.5, 0.4, 0.0)


def test_a_step_that_raises_the_adversarial_term_is_rolled_back_and_stops(tiny_run, tmp_path, monkeypatch):
    """Step 1 is accepted (term 1.0 -> 1.05, within 10%), step 2 is not (1.05 -> 1.5): the output is
    step 1's generator, the report keeps step 2's row marked rolled back, and nothing runs after it."""
    run_dir, crops_a, crops_b = tiny_run
    terms = iter([1.0, 1.05, 1.5])
    monkeypatch.setattr(SparsityTrainer, "adversarial_term", lambda self, generator: next(terms))
    out = tmp_path / "compact"
    settings = {**SETTINGS, "target_fraction": 0.01, "max_adversarial_rise": 0.1, "finetune_epochs": 0}
    assert run_cli(run_dir, crops_a, crops_b, out, settings) == 0
    with (out / "report.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    summary = json.loads((out / "summary.json").read_text())
    assert [row["rolled_back"] for row in rows] == ["False", "False", "True"]
    assert summary["rolled_back_step"] == 2 and summary["steps"] == 2 and not summary["target"]["reached"]
    assert int(rows[2]["macs"]) < int(rows[1]["macs"])  # the discarded step was smaller ...
    assert summary["final"]["macs"] == int(rows[1]["macs"])  # ... but step 1's generator is the output
    final = load_generator(out / "G_cg2real.pt", out / "model.json", torch.device("cpu"))
    assert " ".join(f"{k}={v}" for k, v in final.widths.items()) == rows[1]["widths"]
    assert sorted(p.name for p in (out / "steps").iterdir()) == ["step_000", "step_001"]


def test_max_steps_bounds_the_loop(tiny_run, tmp_path):
    run_dir, crops_a, crops_b = tiny_run
    out = tmp_path / "compact"
    settings = {**SETTINGS, "target_fraction": 0.01, "max_steps": 1, "sparsity_epochs": 0, "finetune_epochs": 0}
    assert run_cli(run_dir, crops_a, crops_b, out, settings) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 1 and not summary["target"]["reached"]


def test_run_without_checkpoint_is_a_clear_error(tiny_run, tmp_path, caplog):
    run_dir, crops_a, crops_b = tiny_run
    for path in (run_dir / "checkpoints").iterdir():
        path.unlink()
    assert run_cli(run_dir, crops_a, crops_b, tmp_path / "out", SETTINGS) == 2
    assert "needs the trained discriminator D_A" in caplog.text


def test_config_section_matches_settings_and_schema():
    config = yaml.safe_load((REPO / "config.yaml").read_text())["compact"]
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    section = schema["properties"]["compact"]
    fields = [f.name for f in dataclasses.fields(CompactSettings)]
    assert set(section["properties"]) == set(section["required"]) == set(fields) == set(config)
    assert section["additionalProperties"] is False
    defaults = {name: spec["default"] for name, spec in section["properties"].items()}
    for values in (config, defaults):
        settings_from_mapping(CompactSettings, values, "compact")
    assert defaults["target_fraction"] == 0.1  # paper 001: ten times less


@pytest.mark.parametrize("bad", [{"threshold": "0.1"}, {"prune_stepp": 0.1}])
def test_bad_settings_are_rejected(tiny_run, tmp_path, bad, caplog):
    run_dir, crops_a, crops_b = tiny_run
    settings = {**SETTINGS, **bad}
    if "prune_stepp" in bad:
        del settings["prune_step"]
    assert run_cli(run_dir, crops_a, crops_b, tmp_path / "out", settings) == 2
    assert "compact." in caplog.text
