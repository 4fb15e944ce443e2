"""A synthetic CycleGAN run folder (tiny networks, one checkpoint) and crop folders for the compact tests."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cg2real.cyclegan.networks import define_discriminator, define_generator

RUN_SETTINGS = {
    "generator": "resnet_6blocks", "discriminator": "basic", "ngf": 4, "ndf": 4, "load_size": 36, "crop_size": 32,
    "flip": True, "lr": 0.0002, "beta1": 0.5, "beta2": 0.999, "lambda_cycle": 10.0, "lambda_identity": 0.5,
}


def write_crops(folder: Path, count: int, size: int, seed: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        assert cv2.imwrite(str(folder / f"{i:03d}.png"), rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    return folder


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks run fastest on one thread, and the test machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_run(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(run folder, CG crops, real crops); the run holds checkpoints/epoch_0002.pt like a trained one."""
    torch.manual_seed(0)
    s = RUN_SETTINGS
    models = {"G_A": define_generator(s["generator"], s["ngf"]), "G_B": define_generator(s["generator"], s["ngf"]),
              "D_A": define_discriminator(s["discriminator"], s["ndf"]),
              "D_B": define_discriminator(s["discriminator"], s["ndf"])}
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    state = {"epoch": 2, "models": {name: m.state_dict() for name, m in models.items()}, "settings": s}
    torch.save(state, run / "checkpoints" / "epoch_0002.pt")
    torch.save(models["G_A"].state_dict(), run / "G_cg2real.pt")
    (run / "model.json").write_text(json.dumps({"generator": s["generator"], "ngf": s["ngf"]}))
    return run, write_crops(tmp_path / "cg", 6, 32, 1), write_crops(tmp_path / "real", 5, 32, 2)
