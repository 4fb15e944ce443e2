"""The run folder of a CycleGAN training and its model card (`model.json`).

Every file name of a run folder is spelled here once, as the constants below; `RunPaths` builds
the paths of one folder from them. The model card says which generator `G_cg2real.pt` holds:
`ModelCard` is its typed form, `write_model_card` its one writer and `read_model_card` its one
reader. A compact (pruned) generator's folder has the same two files, its card adding the
per-group widths (`compact`).

A run folder is trained by one process group at a time: `lock_run_folder` (rank 0 holds it for
the whole training) turns a second training on the same folder, e.g. a rerun racing the orphaned
workers of a killed job, into a clear error instead of two writers of the same checkpoints.

Nothing here imports torch at module level: the workflow imports the names at parse time.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from cg2real.errors import DataError

# ------------------------------------------------------------------ file names of a run folder
GENERATOR_CG2REAL = "G_cg2real.pt"  # final G_A (CG -> real): the translator we keep
GENERATOR_REAL2CG = "G_real2cg.pt"  # final G_B (real -> CG)
MODEL_CARD = "model.json"
METRICS = "metrics.csv"
CHECKPOINTS = "checkpoints"  # folder: shared state and per-rank pools of the newest epochs
LOCK = "training.lock"  # held (fcntl.lockf) by the training of this folder; names its holder
SAMPLES = "samples"  # folder: one image grid per epoch
GENERATOR_SNAPSHOTS = "generators"  # folder: G_A of every `save_generator_every`-th epoch

GENERATOR_SNAPSHOT = "G_cg2real_epoch_{epoch:04d}.pt"  # in GENERATOR_SNAPSHOTS, format of G_cg2real.pt
GENERATOR_SNAPSHOT_GLOB = "G_cg2real_epoch_????.pt"
# In CHECKPOINTS, a checkpoint of the state after `epoch` epochs and `step` steps of the next one
# (step > 0 only when a stop signal ended training mid-epoch): the shared state, and beside it one
# file per rank with its image pools (and random state). File names sort in training order.
CHECKPOINT_STEM = "epoch_{epoch:04d}"
CHECKPOINT_STEP_STEM = "epoch_{epoch:04d}_step_{step:06d}"
CHECKPOINT_PATTERN = re.compile(r"epoch_\d{4}(_step_\d{6})?\.pt")  # shared state, not the pool files
SAMPLE = "epoch_{epoch:04d}.png"  # in SAMPLES


@dataclass(frozen=True)
class RunPaths:
    """Files of one run folder."""

    root: Path

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    @property
    def samples(self) -> Path:
        return self.root / SAMPLES

    @property
    def metrics(self) -> Path:
        return self.root / METRICS

    @property
    def generator_cg2real(self) -> Path:
        return self.root / GENERATOR_CG2REAL

    @property
    def generator_real2cg(self) -> Path:
        return self.root / GENERATOR_REAL2CG

    @property
    def model_card(self) -> Path:
        return self.root / MODEL_CARD

    @property
    def generator_snapshots(self) -> Path:
        return self.root / GENERATOR_SNAPSHOTS

    def generator_snapshot(self, epoch: int) -> Path:
        """G_A (CG -> real) after `epoch` epochs, in the format of `G_cg2real.pt`."""
        return self.generator_snapshots / GENERATOR_SNAPSHOT.format(epoch=epoch)

    def saved_generator_snapshots(self) -> list[Path]:
        """The per-epoch generators on disk, oldest first."""
        return sorted(self.generator_snapshots.glob(GENERATOR_SNAPSHOT_GLOB))

    @property
    def lock(self) -> Path:
        return self.root / LOCK

    def checkpoint_stem(self, epoch: int, step: int = 0) -> str:
        return (CHECKPOINT_STEP_STEM if step else CHECKPOINT_STEM).format(epoch=epoch, step=step)

    def checkpoint(self, epoch: int, step: int = 0) -> Path:
        return self.checkpoints / f"{self.checkpoint_stem(epoch, step)}.pt"

    def saved_checkpoints(self) -> list[Path]:
        """The shared-state checkpoints on disk, oldest first (each has per-rank pool files beside it)."""
        return sorted(p for p in self.checkpoints.glob("epoch_*.pt") if CHECKPOINT_PATTERN.fullmatch(p.name))

    def pool_state(self, epoch: int, rank: int, step: int = 0) -> Path:
        return self.checkpoints / f"{self.checkpoint_stem(epoch, step)}.pool{rank}.pt"

    def sample(self, epoch: int) -> Path:
        return self.samples / SAMPLE.format(epoch=epoch)


def atomic_save(obj: object, path: Path) -> None:
    """torch.save to a temporary name, then rename: a kill never leaves a half-written checkpoint."""
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def lock_run_folder(folder: Path) -> int:
    """Lock `folder` for this process's training and return the lock's file descriptor (closing it
    releases the lock); a DataError naming the holder when another training holds it.

    A POSIX record lock (`fcntl.lockf`) on `training.lock`: the kernel drops it when its holder
    dies, however it dies, so a killed run never keeps its folder; unlike `flock` it is not shared
    with forked children (data-loader workers), which may outlive a killed trainer by seconds; and
    it works on NFS (through lockd). Locks are per process: a second trainer inside the same
    process is not stopped by it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        holder = path.read_text().strip() or "a process that has not written its pid yet"
        raise DataError(f"run folder {folder} is in use by another training ({holder}): wait for it to end "
                        "or stop it, then rerun") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
    return fd


# ------------------------------------------------------------------ model card
@dataclass(frozen=True)
class ModelCard:
    """`model.json`: which generator a folder's `G_cg2real.pt` holds.

    Keys on disk are the field names; a field left at None is not written. The field order is
    the key order of the file.
    """

    generator: str  # name of the CycleGAN generator (`networks.GENERATORS`)
    ngf: int
    compact: dict[str, int] | None = None  # a pruned generator's width per channel group
    a: str = "cg"  # the generator maps domain a ...
    b: str = "real"  # ... to domain b
    epochs: int | None = None  # epochs trained (a CycleGAN run's card)
    processes: int | None = None  # processes it was trained on (a CycleGAN run's card)
    total_batch: int | None = None  # images per optimiser step over all processes (a CycleGAN run's card)
    batch_fraction: float | None = None  # total_batch / distinct training samples (paper 004's measure)
    warning: str | None = None  # why the run may train worse than the paper's (a batch beyond ~9%)
    source: str | None = None  # the checkpoint a compact generator was pruned from

    @property
    def is_compact(self) -> bool:
        """A pruned generator (`cg2real.compact`), rebuilt from its widths, not from `generator`/`ngf`."""
        return self.compact is not None

    def to_json(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value is not None}


_REQUIRED = ("generator", "ngf")  # what a reader needs to rebuild a generator; the rest is optional
_TYPES: dict[str, type] = {
    "generator": str, "ngf": int, "compact": dict, "a": str, "b": str, "epochs": int, "processes": int, "source": str,
    "total_batch": int, "batch_fraction": float, "warning": str,
}


def write_model_card(card: ModelCard, path: Path) -> None:
    path.write_text(json.dumps(card.to_json(), indent=1))


def read_model_card(path: Path) -> ModelCard:
    """The card at `path`; a DataError naming the file when it is missing or malformed.

    Keys other than the fields of `ModelCard` are ignored.
    """
    if not path.is_file():
        raise DataError(f"model card not found: {path}")
    try:
        values = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"model card {path} is not valid JSON: {err}") from err
    if not isinstance(values, dict):
        raise DataError(f"model card {path} must be a JSON object, got {type(values).__name__}")
    missing = [name for name in _REQUIRED if name not in values]
    if missing:
        raise DataError(f"model card {path} lacks key(s): {', '.join(repr(name) for name in missing)}")
    known = {f.name for f in fields(ModelCard)}
    kept = {name: value for name, value in values.items() if name in known and value is not None}
    for name, value in kept.items():
        if isinstance(value, bool) or not isinstance(value, _TYPES[name]):
            raise DataError(f"model card {path}: '{name}' must be of type {_TYPES[name].__name__}, got {value!r}")
    compact = kept.get("compact")
    if compact is not None and not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                       for k, v in compact.items()):
        raise DataError(f"model card {path}: 'compact' must map channel groups to widths, got {compact!r}")
    return ModelCard(**kept)
