"""horovod's fusion threshold sized to the model: the bytes counted, the threshold chosen for the
shipped configs, the environment variable's precedence, and on 2 horovod workers the value set,
logged, and each optimiser's gradients sent in one allreduce."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch
import yaml

from cg2real.cyclegan.cli import horovod_fusion_threshold
from cg2real.cyclegan.distributed import apply_fusion_threshold, fusion_threshold_bytes, gradient_bytes
from cg2real.cyclegan.networks import define_discriminator, define_generator
from cg2real.cyclegan.train import CycleGANSettings
from cg2real.settings import settings_from_mapping
from tests.cyclegan.test_faults import write_crops
from tests.cyclegan.test_train import TINY

REPO = Path(__file__).resolve().parents[2]
MiB = 2**20


def shipped_settings(config: str) -> CycleGANSettings:
    defaults = yaml.safe_load((REPO / config).read_text())["cyclegan"]["defaults"]
    return settings_from_mapping(CycleGANSettings, defaults, "cyclegan")


def real_groups(settings: CycleGANSettings) -> list[list[torch.nn.Module]]:
    """The trainer's optimiser groups as allocated networks (one of each, counted twice)."""
    net = settings.network
    generator = define_generator(net.generator, net.ngf)
    discriminator = define_discriminator(net.discriminator, net.ndf)
    return [[generator, generator], [discriminator, discriminator]]


@pytest.mark.parametrize(("config", "threshold_mib", "fp16_mib"),
                         [("config.yaml", 4, 2), ("config/paper.yaml", 87, 44)])
def test_threshold_holds_the_real_generator_pair_of_each_shipped_config(config, threshold_mib, fp16_mib):
    """Counted on the meta device, the threshold is the one the allocated networks give, holds the
    generators' group (the largest) whole, and is their bytes rounded up to the next MiB."""
    settings = shipped_settings(config)
    groups = real_groups(settings)
    generator_bytes = sum(p.numel() * 4 for p in groups[0][0].parameters()) * 2
    assert gradient_bytes(groups[0]) == generator_bytes > gradient_bytes(groups[1])
    assert horovod_fusion_threshold(settings) == fusion_threshold_bytes(groups) == threshold_mib * MiB
    assert generator_bytes < threshold_mib * MiB < generator_bytes + MiB
    fp16 = replace(settings, fp16_allreduce=True)
    assert gradient_bytes(groups[0], fp16_allreduce=True) == generator_bytes // 2
    assert horovod_fusion_threshold(fp16) == fp16_mib * MiB


def test_paper_generators_are_docs_scaling_count_and_no_longer_split_by_horovod_0_15s_64_mib():
    with torch.device("meta"):
        pair = [define_generator("resnet_9blocks", 64) for _ in "AB"]
    assert gradient_bytes(pair) == 2 * 11_378_179 * 4  # docs/scaling.md section 2: 91.0 MB
    assert fusion_threshold_bytes([pair]) > 64 * MiB


def test_bytes_count_trainable_gradients_padded_as_horovod_fuses_them():
    model = torch.nn.Sequential(torch.nn.Linear(256, 1023), torch.nn.Linear(1023, 4))
    model[1].bias.requires_grad_(False)  # frozen: no gradient to send
    floats = 256 * 1023 + 1023 + 1023 * 4
    assert gradient_bytes([model]) == floats * 4
    assert gradient_bytes([model], fp16_allreduce=True) == floats * 2
    # 1023 biases: 4092 -> 4096 bytes; the weights are whole multiples of 16 bytes already
    assert gradient_bytes([model], alignment=16) == floats * 4 + 4


def test_threshold_follows_the_largest_group_with_headroom():
    exactly_one_mib = torch.nn.Linear(MiB // 4, 1, bias=False)
    small = torch.nn.Linear(4, 4)
    assert fusion_threshold_bytes([[small], [exactly_one_mib]]) == 2 * MiB  # a group that fills a MiB gets the next
    assert fusion_threshold_bytes([[small]]) == MiB
    assert fusion_threshold_bytes([[exactly_one_mib, exactly_one_mib]], fp16_allreduce=True) == 2 * MiB


def test_threshold_is_set_for_horovod():
    environ: dict[str, str] = {}
    apply_fusion_threshold(environ, 87 * MiB)
    assert environ == {"HOROVOD_FUSION_THRESHOLD": str(87 * MiB)}


def test_threshold_already_in_the_environment_wins():
    environ = {"HOROVOD_FUSION_THRESHOLD": str(32 * MiB)}  # e.g. from `horovodrun --fusion-threshold-mb 32`
    apply_fusion_threshold(environ, 87 * MiB)
    assert environ["HOROVOD_FUSION_THRESHOLD"] == str(32 * MiB)


def test_no_threshold_leaves_horovods_default():
    environ: dict[str, str] = {}
    apply_fusion_threshold(environ, None)
    assert environ == {}


WORKER = textwrap.dedent(
    """
    import json, logging, os, sys, torch
    from pathlib import Path
    logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
    from cg2real.cyclegan.cli import horovod_fusion_threshold
    from cg2real.cyclegan.distributed import init_distributed
    from cg2real.cyclegan.train import CycleGANSettings, CycleGANTrainer
    settings = CycleGANSettings(**json.loads(sys.argv[1]))
    a, b, out = (Path(p) for p in sys.argv[2:5])
    dist = init_distributed("horovod", "cpu", 5.0, settings.fp16_allreduce, horovod_fusion_threshold(settings))
    threshold = int(os.environ["HOROVOD_FUSION_THRESHOLD"])
    print(f"rank {dist.rank} threshold {threshold}", flush=True)
    trainer = CycleGANTrainer(settings, dist, a, b, out / str(dist.rank))
    generator = torch.Generator().manual_seed(dist.rank)
    trainer.train_step([tuple(torch.rand(1, 3, 32, 32, generator=generator) * 2 - 1 for _ in "AB")])
    # a group one MiB over the threshold, in 1 MiB tensors: the threshold, not the group, bounds a fusion
    dist.hvd.grouped_allreduce([torch.ones(2**18) for _ in range(threshold // 2**20 + 1)], name="over")
    dist.close()
    """
)


def fused_allreduces(output: str, prefix: str) -> list[list[str]]:
    """The allreduces, each a list of its tensors' names, that horovod's coordinator (rank 0) sent
    for the grouped tensors named `prefix`... (its TRACE log lists each fused response: 'a, b; c;')."""
    marker = "Sending ready responses as "
    responses = [response.split(",") for line in output.splitlines() if line.startswith("[0]") and marker in line
                 for response in line.split(marker, 1)[1].split(";")]
    names = [[name.strip() for name in response] for response in responses]
    return [response for response in names if response[0].startswith(f"grouped_allreduce.{prefix}")]


def test_each_optimisers_group_is_one_allreduce_on_two_horovod_workers(tmp_path):
    """The trainer's real step on 2 horovodrun workers: both start with the threshold counted from
    the settings (the environment variable is what hvd.init() reads), rank 0 logs it once beside
    the cycle time, and each optimiser's gradients leave in one fused allreduce, so the optimiser
    groups counted on the meta device are the trainer's. A group over the threshold is split.
    The allreduces are read from horovod's TRACE log (horovod 0.28.1)."""
    settings = replace(TINY, ngf=16, ndf=16, pool_size=0)  # the demo's networks: G_A + G_B 3.8 MiB
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    command = [str(Path(sys.executable).with_name("horovodrun")), "-np", "2", "-H", "localhost:2", "--gloo",
               sys.executable, str(script), json.dumps(asdict(settings)), *map(str, write_crops(tmp_path)),
               str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "HOROVOD_LOG_LEVEL": "trace"})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-2000:]
    assert all(f"rank {rank} threshold {4 * MiB}" in output for rank in (0, 1)), output[-2000:]
    logged = [line for line in output.splitlines() if "horovod: fusion threshold" in line]
    assert len(logged) == 1 and logged[0].startswith("[0]"), logged
    assert f"fusion threshold {4 * MiB} bytes, cycle time 5 ms" in logged[0]
    tensors = {"G": 2 * len(list(define_generator("resnet_6blocks", 16).parameters())),
               "D": 2 * len(list(define_discriminator("basic", 16).parameters()))}
    for group, count in tensors.items():
        allreduces = fused_allreduces(output, f"{group}.")
        assert [len(names) for names in allreduces] == [count], (group, allreduces)
    assert len(fused_allreduces(output, "over_")) == 2  # 4 MiB + the 5th: two allreduces
