"""The GPU check: the workflow's single-GPU CUDA paths, run once on one GPU, in one table (issue 19).

No GPU was available while the CUDA paths were written, so this script runs each of them for real
through the package's own entry points (DDP over NCCL needs more than one GPU: not here) and prints
one table, each row with its CUDA memory peak (`torch.cuda.max_memory_allocated`; "-" on the CPU):

- CycleGAN training step (`CycleGANTrainer.train_step`) at 256 px, ResNet-9, ngf = ndf = 64,
  batch 1: fp32 eager, then bf16 autocast + channels_last + torch.compile, with the speed-up
  (target >= 2x), the compile warm-up and after how many steps it pays back, and the relative
  difference of the first step's losses (both start from the same weights and batch; bf16 moves
  them by about 1e-2);
- translation of CG frames (`translate_images`, SYNTHIA's 960x720) by the full generator and by a
  compact copy keeping 30% of each channel group (benchmarks/translate_speed.py's pair);
- FID with the real statistics cached: Inception features of the translated set plus the Frechet
  distance, per image. pytorch-fid's weights file is used where the config (or pytorch-fid's own
  place) has it; otherwise the same network gets random weights, and the row says so;
- a short ultralytics YOLOv3u training (`train_detector`) with AMP on freshly generated demo data.

Nothing is downloaded: every connection or name lookup that would leave the machine is refused and
listed under the table (ultralytics' AMP check is one such caller on CUDA). The variants run one
after the other, not in alternating blocks: a dedicated GPU has no neighbours to even out, and each
row's memory peak is then its own. `--out` writes the rows as JSON (rewritten after each check, so
a run cut short keeps what it measured).

    benchmarks/gpu_check.sh                      # on the GPU machine (under 8 minutes)
    python benchmarks/gpu_check.py --device cpu --quick --compile-backend eager   # the suite's smoke run
"""

from __future__ import annotations

import argparse
import datetime
import functools
import ipaddress
import json
import logging
import math
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch
import yaml

from cg2real.compact.cost import count_macs
from cg2real.cyclegan.train import CycleGANSettings
from cg2real.data.bdd100k import BDD100KSettings
from cg2real.data.demo import DemoSettings, make_demo_datasets
from cg2real.data.export import ExportSettings
from cg2real.data.prepare import export_detector_set, select_bdd100k
from cg2real.data.select import FilterSettings
from cg2real.detector.dataset import FrameSource, assemble_condition_set
from cg2real.detector.records import DATA_YAML
from cg2real.detector.train import DetectorTrainSettings, train_detector
from cg2real.metrics.fid import feature_statistics, frechet_distance
from cg2real.metrics.inception import WEIGHTS_FILE, default_weights_path, inception_features, load_fid_inception
from cg2real.settings import settings_from_mapping
from cg2real.translate.translate import MULTIPLE
from reference_step import demo_settings, make_trainer, random_batches
from translate_speed import images_per_second, synthetic_pair

CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
CHECKS = ("cyclegan", "translate", "fid", "detector")  # in this order: the detector's must be last


@dataclass(frozen=True)
class Sizes:
    """How much each check does: the GPU sizes, or tiny ones for the CPU smoke run (`--quick`)."""

    generator: str = "resnet_9blocks"
    ngf: int = 64
    crop: int = 256
    batch: int = 1
    warmup_steps: int = 5  # untimed; the compiled variant compiles in the first of them
    blocks: int = 5
    block_steps: int = 20
    frame_width: int = 960  # SYNTHIA-RAND-CVPR16 frames
    frame_height: int = 720
    frames: int = 32
    translate_batch: int = 4
    keep: float = 0.3  # channels the compact generator keeps per group
    fid_images: int = 1000
    fid_size: int = 256  # translated crops
    fid_batch: int = 50
    fid_distance: bool = True
    demo: dict = field(default_factory=lambda: {"cg_frames": 1})  # over config.yaml's data.demo
    detector: dict = field(default_factory=lambda: {  # over config.yaml's detector.train
        "model": "yolov3u.yaml", "width_multiple": None, "weights": None, "imgsz": 608, "batch": 16,
        "iterations": 30, "workers": 4, "amp": True})


QUICK = Sizes(
    generator="resnet_6blocks", ngf=8, crop=32, warmup_steps=2, blocks=2, block_steps=1, frame_width=64,
    frame_height=48, frames=2, translate_batch=1, fid_images=4, fid_size=64, fid_batch=2, fid_distance=False,
    demo={"real_train_frames": 12, "real_val_frames": 6, "cg_frames": 1},
    detector={"model": "yolov3-tinyu.yaml", "width_multiple": 0.125, "weights": None, "imgsz": 64, "batch": 4,
              "iterations": 2, "workers": 0, "mosaic": 0.0, "amp": True},
)


@dataclass
class Row:
    """One line of the table."""

    check: str
    setting: str
    value: float
    unit: str
    versus: str  # against the check's first row, e.g. "2.31x"; "-" where nothing compares
    peak_mib: float | None  # CUDA memory peak of this row alone; None on the CPU
    note: str
    figures: dict[str, float] = field(default_factory=dict)  # the note's numbers, for the JSON


def config_section(cls: type, values: dict, name: str):
    """`cls` from the keys of a config section that it declares (the rules pass the others apart,
    e.g. data.filter.target_count), as the CLI would receive them."""
    return settings_from_mapping(cls, {f.name: values[f.name] for f in fields(cls)}, name)


# ------------------------------------------------------------------ device helpers
def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def start_peak(device: torch.device) -> None:
    """Forget earlier allocations, so the next `peak_mib` is this check's own."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


@contextmanager
def compile_backend(backend: str) -> Iterator[None]:
    """torch.compile with `backend` for the duration. The trainer calls torch.compile with its default
    (inductor, the GPU's); the CPU smoke run passes 'eager', which checks the compiled path without
    generating code (as tests/cyclegan/test_train.py does)."""
    if backend == "inductor":
        yield
        return
    original = torch.compile
    torch.compile = functools.partial(original, backend=backend)
    try:
        yield
    finally:
        torch.compile = original


# ------------------------------------------------------------------ no downloads
def _off_machine(host: object) -> bool:
    """Whether a host (a name or an address) lies outside this machine."""
    if host is None:
        return False
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text in LOOPBACK_NAMES or text == socket.gethostname():
        return False
    try:
        return not ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return True  # a name that is not this machine's


def refuse_network(attempts: list[str]) -> None:
    """Refuse, and append to `attempts`, every name lookup or connection leaving the machine, for the
    rest of this process (an audit hook cannot be removed: the check runs in a process of its own)."""

    def hook(event: str, args: tuple) -> None:
        if event == "socket.getaddrinfo" and _off_machine(args[0]):
            target = f"lookup {args[0]!r}"
        elif (event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6)
              and _off_machine(args[1][0])):
            target = f"connect {args[1]!r}"
        else:
            return
        attempts.append(target)
        raise OSError(101, f"network refused by the GPU check ({target})")

    sys.addaudithook(hook)


# ------------------------------------------------------------------ CycleGAN step
@dataclass
class StepRun:
    rate: float  # images/s, median of the timed blocks
    step_s: float  # seconds per step at that rate
    warmup_s: float  # the untimed warm-up steps (compilation included)
    losses: dict[str, float]  # of the first step
    peak: float | None


def run_steps(settings: CycleGANSettings, device: torch.device, sizes: Sizes, backend: str) -> StepRun:
    """Our trainer's `train_step` on fixed batches: the first step's losses, the warm-up time, then
    `blocks` timed blocks of `block_steps` steps."""
    memory_format = torch.channels_last if settings.channels_last else torch.contiguous_format
    batches = [tuple(t.to(device, memory_format=memory_format) for t in pair)
               for pair in random_batches(sizes.crop, batch=sizes.batch)]
    with tempfile.TemporaryDirectory() as tmp, compile_backend(backend):
        start_peak(device)
        trainer = make_trainer(settings, Path(tmp), device)
        started = time.perf_counter()
        losses = {name: float(value) for name, value in trainer.train_step([batches[0]]).items()}
        for i in range(1, sizes.warmup_steps):
            trainer.train_step([batches[i % len(batches)]])
        synchronize(device)
        warmup_s = time.perf_counter() - started
        rates = []
        for _ in range(sizes.blocks):
            started = time.perf_counter()
            for i in range(sizes.block_steps):
                trainer.train_step([batches[i % len(batches)]])
            synchronize(device)
            rates.append(sizes.block_steps * sizes.batch / (time.perf_counter() - started))
        rate = statistics.median(rates)
        return StepRun(rate, sizes.batch / rate, warmup_s, losses, peak_mib(device))


def relative_loss_gap(reference: dict[str, float], other: dict[str, float]) -> tuple[float, str]:
    """The largest |other - reference| / |reference| over the losses, and which loss it is."""
    gaps = {name: abs(other[name] - value) / max(abs(value), 1e-12) for name, value in reference.items()}
    worst = max(gaps, key=gaps.get)
    return gaps[worst], worst


def cyclegan_rows(device: torch.device, sizes: Sizes, backend: str) -> list[Row]:
    eager = demo_settings(sizes.generator, sizes.ngf, sizes.crop)
    fast = replace(eager, amp="bf16", channels_last=True, compile=True)
    base, tuned = (run_steps(s, device, sizes, backend) for s in (eager, fast))
    gap, worst = relative_loss_gap(base.losses, tuned.losses)
    extra = tuned.warmup_s - base.warmup_s - sizes.warmup_steps * (tuned.step_s - base.step_s)
    saved = base.step_s - tuned.step_s
    payback = f"pays back after {max(0.0, extra) / saved:,.0f} steps" if saved > 0 else "never pays back"
    label = f"{sizes.generator} ngf {sizes.ngf}, {sizes.crop} px, batch {sizes.batch}"
    return [
        Row("CycleGAN step", f"{label}, fp32 eager", base.rate, "img/s", "1.00x", base.peak,
            f"warm-up {base.warmup_s:.1f} s ({sizes.warmup_steps} steps)"),
        Row("CycleGAN step", f"{label}, bf16 + channels_last + compile ({backend})", tuned.rate, "img/s",
            f"{tuned.rate / base.rate:.2f}x (target >= 2x)", tuned.peak,
            f"first-step losses differ by {gap:.1e} relative at most ({worst}); warm-up {tuned.warmup_s:.1f} s, "
            f"{extra:+.1f} s over eager's, {payback}",
            {"loss_gap": gap, "warmup_s": tuned.warmup_s, "extra_warmup_s": extra, "eager_warmup_s": base.warmup_s}),
    ]


# ------------------------------------------------------------------ translation
def translation_rows(device: torch.device, sizes: Sizes) -> list[Row]:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (sizes.frame_height, sizes.frame_width, 3), dtype=np.uint8)
              for _ in range(sizes.frames)]
    padded = [-(-side // MULTIPLE) * MULTIPLE for side in (sizes.frame_height, sizes.frame_width)]
    rows, baseline = [], None
    for label, generator in zip(("full ResNet-9 ngf 64", f"compact ({sizes.keep:.0%} of each channel group)"),
                                synthetic_pair(sizes.keep)):
        start_peak(device)
        generator = generator.to(device).eval()
        rate = images_per_second(generator, frames, sizes.translate_batch, device)
        baseline = baseline or rate
        rows.append(Row("translation", label, rate, "frames/s", f"{rate / baseline:.2f}x", peak_mib(device),
                        f"{sizes.frame_width}x{sizes.frame_height}, batch {sizes.translate_batch}, "
                        f"{count_macs(generator, *padded) / 1e9:.1f} GMACs/frame"))
        generator.cpu()  # its device memory is not the next row's
    return rows


# ------------------------------------------------------------------ FID
def inception_network(weights: Path, device: torch.device, work: Path) -> tuple[torch.nn.Module, str]:
    """pytorch-fid's network from `weights`; without that file, the same network with random weights
    (written to a file of the expected name and loaded the package's way, so the path is the same)."""
    if weights.is_file():
        return load_fid_inception(weights, device), f"Inception weights {weights}"
    import torchvision

    stand_in = work / WEIGHTS_FILE
    # pytorch-fid's FID Inception has torchvision's Inception v3 parameters with a 1008-way head
    network = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    torch.save(network.state_dict(), stand_in)
    return load_fid_inception(stand_in, device), f"RANDOM Inception weights (no file at {weights})"


def fid_row(device: torch.device, sizes: Sizes, weights: Path, work: Path) -> Row:
    """Per translated image: its Inception features, then (once) the distance to the cached real statistics."""
    rng = np.random.default_rng(0)
    real, translated = ([rng.integers(0, 256, (sizes.fid_size, sizes.fid_size, 3), dtype=np.uint8)
                         for _ in range(sizes.fid_images)] for _ in range(2))
    start_peak(device)
    model, source = inception_network(weights, device, work)
    cached = feature_statistics(inception_features(model, real, sizes.fid_batch, device, "real statistics"))
    inception_features(model, translated[: sizes.fid_batch], sizes.fid_batch, device, "warm-up")
    started = time.perf_counter()
    features = inception_features(model, translated, sizes.fid_batch, device, "translated")
    translated_statistics = feature_statistics(features)
    between = time.perf_counter()
    if sizes.fid_distance:
        fid = frechet_distance(*cached, *translated_statistics)
        if not math.isfinite(fid):
            raise RuntimeError(f"FID is {fid}")
        distance = f"distance {time.perf_counter() - between:.2f} s"
    else:
        distance = "distance not computed (--quick: its 2048-d eigendecompositions take seconds of CPU)"
    ended = time.perf_counter()
    return Row("FID", f"{sizes.fid_images} crops of {sizes.fid_size} px, real statistics cached",
               sizes.fid_images / (ended - started), "img/s", "-", peak_mib(device),
               f"{source}; batch {sizes.fid_batch}; features {between - started:.2f} s + {distance}",
               {"features_s": between - started, "distance_s": ended - between})


# ------------------------------------------------------------------ detector
def demo_detector_set(config: dict, sizes: Sizes, work: Path) -> tuple[Path, int]:
    """The demo's real frames as one condition's detector set (the data stage's own steps, into
    `work`, with the layout of rules/common.smk's demo paths); returns data.yaml and its training frames."""
    data = config["data"]
    demo = work / "demo"
    make_demo_datasets(demo, config_section(DemoSettings, {**data["demo"], **sizes.demo}, "data.demo"), progress=False)
    reader = config_section(BDD100KSettings, data["bdd100k"], "data.bdd100k")
    select = config_section(FilterSettings, data["filter"], "data.filter")
    export = config_section(ExportSettings, data["export"], "data.export")
    yolo = {}
    for split, frames in (("train", "kept"), ("val", data["export"]["val_frames"])):
        manifest = work / f"real_{split}.csv"
        select_bdd100k(demo / f"bdd100k/labels/bdd100k_labels_images_{split}.json",
                       demo / f"bdd100k/images/100k/{split}", reader, select, manifest, 1)
        yolo[split] = work / "yolo" / split
        export_detector_set(manifest, yolo[split], frames, export, None)
    selection = assemble_condition_set([FrameSource(yolo["train"], "all", "real_")], yolo["val"], 0, work / "set")
    return work / "set" / DATA_YAML, selection["train_frames"]


@contextmanager
def amp_messages(found: list[str]) -> Iterator[None]:
    """Collect ultralytics' log lines about AMP (its check decides whether AMP really runs)."""

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "AMP" in record.getMessage():
                found.append(" ".join(record.getMessage().split()))

    handler = Collect()
    logger = logging.getLogger("ultralytics")  # the logger ultralytics configures when imported
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def detector_row(config: dict, device: torch.device, sizes: Sizes, work: Path) -> Row:
    """Run last: ultralytics switches on deterministic algorithms for the rest of the process."""
    data_yaml, train_frames = demo_detector_set(config, sizes, work)
    settings = config_section(DetectorTrainSettings, {**config["detector"]["train"], **sizes.detector},
                              "detector.train")
    amp: list[str] = []
    start_peak(device)
    started = time.perf_counter()
    with amp_messages(amp):
        summary = train_detector(settings, data_yaml, str(device.index or 0) if device.type == "cuda" else "cpu",
                                 work / "detector")
    wall = time.perf_counter() - started
    return Row("detector", f"{settings.model} x{settings.width_multiple or 1}, {settings.imgsz} px, batch "
               f"{settings.batch}, amp {settings.amp}", summary["epochs"] * train_frames / wall, "img/s", "-",
               peak_mib(device),
               f"{summary['epochs']} epochs of {train_frames} frames in {wall:.0f} s (validation and checkpoints "
               f"included); best mAP@0.5 {summary['best']['map50']:.3f}; "
               f"AMP: {amp[-1] if amp else 'no check (off on the CPU)'}",
               {"epochs": summary["epochs"], "train_frames": train_frames, "wall_s": wall,
                "map50": summary["best"]["map50"]})


# ------------------------------------------------------------------ table
def markdown(rows: list[Row]) -> str:
    lines = ["| check | setting | value | unit | vs first of check | CUDA peak MiB | note |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        peak = "-" if row.peak_mib is None else f"{row.peak_mib:,.0f}"
        lines.append(f"| {row.check} | {row.setting} | {row.value:.4g} | {row.unit} | {row.versus} | {peak} "
                     f"| {row.note} |")
    return "\n".join(lines)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    return f"CPU ({torch.get_num_threads()} threads)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (the check) or cpu (the smoke run)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script, measures nothing")
    parser.add_argument("--compile-backend", default="inductor", help="torch.compile backend (cpu smoke run: eager)")
    parser.add_argument("--config", type=Path, default=CONFIG,
                        help="the workflow config whose data, metrics and detector sections the checks start from")
    parser.add_argument("--inception-weights", type=Path, default=None,
                        help="pytorch-fid's weights file (default: the config's metrics.weights, else pytorch-fid's "
                             "own place)")
    parser.add_argument("--checks", nargs="+", choices=CHECKS, default=list(CHECKS), help="which checks (default all)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows here as JSON")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --device cpu --quick to check the script itself")
    config = yaml.safe_load(args.config.read_text())
    configured = config["metrics"]["weights"]
    weights = args.inception_weights or (Path(configured) if configured else default_weights_path())
    sizes = QUICK if args.quick else Sizes()
    attempts: list[str] = []
    refuse_network(attempts)
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "device": describe(device), "torch": torch.__version__, "quick": args.quick,
              "sizes": asdict(sizes), "rows": [], "network_attempts": attempts}
    checks: dict[str, Callable[[Path], list[Row]]] = {
        "cyclegan": lambda work: cyclegan_rows(device, sizes, args.compile_backend),
        "translate": lambda work: translation_rows(device, sizes),
        "fid": lambda work: [fid_row(device, sizes, weights, work)],
        "detector": lambda work: [detector_row(config, device, sizes, work)],  # last: see detector_row
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in (name for name in CHECKS if name in args.checks):
            work = Path(tmp) / name
            work.mkdir()
            for row in checks[name](work):
                result["rows"].append(asdict(row))
                print(f"GPU CHECK ROW {json.dumps(asdict(row))}", flush=True)
            if args.out:
                args.out.write_text(json.dumps(result, indent=1))
    result["wall_s"] = time.perf_counter() - started
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    rows = [Row(**row) for row in result["rows"]]
    print(f"\nGPU check, {result['date']}, {result['device']}, torch {result['torch']}"
          f"{' (quick: tiny sizes, numbers mean nothing)' if args.quick else ''}; {result['wall_s']:.0f} s")
    print(markdown(rows))
    print(f"network: {len(attempts)} attempt(s) to leave the machine, refused" + (f": {attempts}" if attempts else ""))


if __name__ == "__main__":
    main()
