"""The training set of one Table 2 condition: a sample of real frames plus, optionally, CG frames.

A condition's folder holds `train/` and `val/` as ultralytics YOLO folders of relative symlinks
(no image is copied; ultralytics finds each label by swapping `/images/` for `/labels/` in the link's
path, so labels are linked beside the images), a `data.yaml`, and `selection.json`, the record of
which frames were drawn. Drawing is a seeded sample of the sorted file names, so raw CG (row b) and
its CycleGAN translations (rows c-g) use the very same CG frames: the translation keeps names.

A training run may hold some of the condition's real frames out of training to pick its best
checkpoint on (`hold_out_selection_split`), instead of picking it on the evaluation set as the paper did.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from cg2real.detector.records import DATA_YAML
from cg2real.errors import DataError
from cg2real.images import YOLO_IMAGES, YOLO_LABELS, yolo_data_yaml, yolo_image_names, yolo_label_path

ALL = "all"
REAL_PREFIX = "real_"  # names of a condition's real training frames (`detector-set` links them so)
HELD_OUT = "held_out"  # the selection split's folder, beside its `train/`


@dataclass(frozen=True)
class DetectorSetSettings:
    """What a condition's set draws (cg2real.workflow.detector_set_settings): a positive number of
    frames or 'all' from the real set and, when the condition has CG frames, from the CG set."""

    real: int | str
    cg: int | str | None
    seed: int

    @property
    def real_count(self) -> int | str:
        return parse_count(str(self.real))

    @property
    def cg_count(self) -> int | str | None:
        return None if self.cg is None else parse_count(str(self.cg))


@dataclass(frozen=True)
class FrameSource:
    """One YOLO folder to draw frames from: `count` frames (or 'all'), names prefixed by `prefix`."""

    folder: Path
    count: int | str
    prefix: str


def parse_count(text: str) -> int | str:
    """A frame count from the command line: a positive integer or 'all'."""
    if text == ALL:
        return ALL
    try:
        count = int(text)
    except ValueError as err:
        raise DataError(f"a frame count must be a positive integer or '{ALL}', got {text!r}") from err
    if count < 1:
        raise DataError(f"a frame count must be a positive integer or '{ALL}', got {text!r}")
    return count


def sample_names(names: list[str], count: int | str, seed: int, what: str) -> list[str]:
    """`count` names drawn without replacement by a seeded generator, in sorted order."""
    if count == ALL:
        return list(names)
    if count > len(names):
        raise DataError(
            f"{what}: {count} frames asked for but only {len(names)} are available "
            f"(lower the count in the condition, or use '{ALL}')"
        )
    return sorted(random.Random(seed).sample(names, count))


def link_relative(target: Path, link: Path) -> None:
    """A symlink at `link` to `target`, relative, so the results folder can be moved as a whole."""
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(target.resolve(), link.parent.resolve()))


def link_frames(source: Path, names: list[str], prefix: str, out: Path) -> list[str]:
    """Link frames and their label files from a YOLO folder into `out`; returns the new names."""
    (out / YOLO_IMAGES).mkdir(parents=True, exist_ok=True)
    (out / YOLO_LABELS).mkdir(parents=True, exist_ok=True)
    linked = []
    for name in names:
        label = yolo_label_path(source, name)
        if not label.is_file():
            raise DataError(f"{label} is missing: every image of {source} needs a label file (may be empty)")
        new_name = prefix + name
        link_relative(source / YOLO_IMAGES / name, out / YOLO_IMAGES / new_name)
        link_relative(label, yolo_label_path(out, new_name))
        linked.append(new_name)
    return linked


def content_digest(path: Path) -> str:
    """SHA-256 of a file's bytes: the same frame under another name, or copied, has the same digest."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def check_disjoint(train_sources: list[FrameSource], selected: list[list[str]], val: Path, val_names: list[str]) -> None:
    """No validation frame may also be a training frame: by name, by file, or by content (a copy of a
    validation image under another name, e.g. one that reached the training split through its labels)."""
    val_files = {(val / YOLO_IMAGES / n).resolve() for n in val_names}
    val_digests = {content_digest(val / YOLO_IMAGES / n): n for n in val_names}
    for source, names in zip(train_sources, selected):
        shared = [n for n in names if (source.folder / YOLO_IMAGES / n).resolve() in val_files or n in val_names]
        copies = [(n, val_digests[d]) for n in names if (d := content_digest(source.folder / YOLO_IMAGES / n)) in val_digests]
        if shared:
            raise DataError(f"{len(shared)} frame(s) of {source.folder} are also in the validation set {val}, "
                            f"e.g. {shared[0]}: train and validation must not overlap")
        if copies:
            raise DataError(f"{len(copies)} frame(s) of {source.folder} have the content of a validation frame of "
                            f"{val}, e.g. {copies[0][0]} = {copies[0][1]}: train and validation must not overlap")


def assemble_condition_set(sources: list[FrameSource], val: Path, seed: int, out: Path) -> dict:
    """Write the condition's YOLO folders, `data.yaml` and `selection.json`; returns the selection."""
    selected = [sample_names(yolo_image_names(s.folder), s.count, seed, str(s.folder)) for s in sources]
    val_names = yolo_image_names(val)
    check_disjoint(sources, selected, val, val_names)
    train_names = []
    for source, names in zip(sources, selected):
        train_names += link_frames(source.folder, names, source.prefix, out / "train")
    link_frames(val, val_names, "", out / "val")
    data = yolo_data_yaml(out, f"train/{YOLO_IMAGES}", f"val/{YOLO_IMAGES}")
    (out / DATA_YAML).write_text(yaml.safe_dump(data, sort_keys=False))
    selection = {
        "seed": seed,
        "sources": [{"folder": str(s.folder), "prefix": s.prefix, "count": len(n), "frames": n}
                    for s, n in zip(sources, selected)],
        "train_frames": len(train_names),
        "val_folder": str(val),
        "val_frames": len(val_names),
    }
    (out / "selection.json").write_text(json.dumps(selection, indent=1))
    return selection


def hold_out_selection_split(condition: Path, fraction: float, seed: int, out: Path) -> dict:
    """Split a condition's training frames into `out/train/` and `out/held_out/` (with a `data.yaml`
    whose val is the held-out part): a seeded `fraction` of its real frames is held out to pick the best
    checkpoint on. Only real frames: the evaluation set is real, and every row then loses the same real
    frames (raw and translated rows keep all their CG frames). Returns the record of the split."""
    train = condition / "train"
    names = yolo_image_names(train)
    real = [n for n in names if n.startswith(REAL_PREFIX)]
    count = round(fraction * len(real))
    if not 1 <= count < len(real):
        raise DataError(f"holding out {fraction:g} of {len(real)} real training frames of {condition} leaves "
                        f"{count} to select on and {len(real) - count} to train on: both need at least one")
    held_out = sample_names(real, count, seed, str(train))
    shutil.rmtree(out, ignore_errors=True)  # a rerun splits afresh (the same way, with the same settings)
    link_frames(train, [n for n in names if n not in set(held_out)], "", out / "train")
    link_frames(train, held_out, "", out / HELD_OUT)
    data = yolo_data_yaml(out, f"train/{YOLO_IMAGES}", f"{HELD_OUT}/{YOLO_IMAGES}")
    (out / DATA_YAML).write_text(yaml.safe_dump(data, sort_keys=False))
    return {"set": HELD_OUT, "fraction": fraction, "seed": seed, "frames": count, "train_frames": len(names) - count,
            "held_out": held_out}
