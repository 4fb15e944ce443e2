"""Reader for SYNTHIA: person boxes derived from the per-pixel labels.

SYNTHIA ships no boxes. Two label layouts exist:

- RAND-CVPR16 (the set of the paper): `RGB/<n>.png` 960x720 and `GTTXT/<n>.txt`, a text grid of
  class ids (10 pedestrian, 11 cyclist). No instance ids: separate people are told apart by
  8-connected components, so two people who touch become one box.
- SEQS and RAND-CITYSCAPES: `RGB/.../<n>.png` 1280x760 and `GT/LABELS/.../<n>.png`, 16-bit, class id
  in the R channel and instance id in the G channel. OpenCV reads BGR, so class is channel 2 and
  instance channel 1. Instances separate people where present.

A user box file (the paper annotated SYNTHIA boxes by hand) replaces the derived boxes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cg2real.boxes import Box, Frame, Person
from cg2real.data.bdd100k import load_label_file, parse_frame
from cg2real.errors import DataError

LAYOUTS = ("rand_cvpr16", "seqs")


@dataclass(frozen=True)
class SynthiaLabelSettings:
    """How person boxes are derived from SYNTHIA label maps."""

    person_classes: tuple[int, ...]
    min_component_pixels: int


@dataclass(frozen=True)
class SynthiaSettings:
    """Reader settings of config section data.synthia (its paths arrive as the rule's inputs)."""

    layout: str  # auto, or one of LAYOUTS
    person_classes: tuple[int, ...]
    min_component_pixels: int

    @property
    def labels(self) -> SynthiaLabelSettings:
        return SynthiaLabelSettings(self.person_classes, self.min_component_pixels)


def detect_layout(root: Path) -> str:
    """Name the layout of a SYNTHIA root folder from the label folders it contains."""
    if (root / "GTTXT").is_dir():
        return "rand_cvpr16"
    if (root / "GT" / "LABELS").is_dir():
        return "seqs"
    raise DataError(
        f"SYNTHIA root {root} has neither GTTXT/ (RAND-CVPR16) nor GT/LABELS/ (SEQS, RAND-CITYSCAPES); "
        "expected RGB/<frame>.png beside one of them"
    )


def label_path_for(rgb_path: Path, root: Path, layout: str) -> Path:
    """The label file that belongs to an RGB frame, mirroring its path below RGB/."""
    relative = rgb_path.relative_to(root / "RGB")
    if layout == "rand_cvpr16":
        return root / "GTTXT" / relative.with_suffix(".txt")
    return root / "GT" / "LABELS" / relative


def read_class_grid(path: Path) -> np.ndarray:
    """Class ids from a RAND-CVPR16 GTTXT grid (rows of space-separated integers)."""
    grid = np.loadtxt(path, dtype=np.int32, ndmin=2)
    if grid.size == 0:
        raise ValueError("empty label grid")
    return grid


def read_label_png(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(class ids, instance ids) from a SEQS / RAND-CITYSCAPES 16-bit label PNG."""
    labels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if labels is None or labels.ndim != 3 or labels.shape[2] < 3:
        raise ValueError("not a 3-channel label PNG")
    return labels[:, :, 2].astype(np.int32), labels[:, :, 1].astype(np.int32)


def person_boxes_from_labels(
    classes: np.ndarray, instances: np.ndarray | None, settings: SynthiaLabelSettings
) -> list[Box]:
    """Tight boxes around each person in a label map.

    With instance ids, one box per non-zero id inside the person classes (id 0 pixels fall back to
    connected components); without, one box per 8-connected component. Components smaller than
    `min_component_pixels` are label noise (a few stray pixels) and are dropped.
    """
    mask = np.isin(classes, settings.person_classes)
    boxes: list[Box] = []
    if instances is not None:
        for instance_id in np.unique(instances[mask]):
            if instance_id == 0:
                continue
            ys, xs = np.nonzero(mask & (instances == instance_id))
            if len(xs) >= settings.min_component_pixels:
                boxes.append(Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)))
        mask = mask & (instances == 0)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    for x, y, w, h, area in stats[1:count]:
        if area >= settings.min_component_pixels:
            boxes.append(Box(float(x), float(y), float(x + w), float(y + h)))
    return boxes


def label_box_source(classes: np.ndarray, instances: np.ndarray | None, settings: SynthiaLabelSettings) -> str:
    """How `person_boxes_from_labels` boxes this label map's people (a boxes.BOX_SOURCES value, or
    both joined by '+' when some person pixels carry an instance id and others do not)."""
    if instances is None:
        return "connected_components"
    ids = instances[np.isin(classes, settings.person_classes)]
    with_id, without_id = bool((ids != 0).any()), bool((ids == 0).any())
    if with_id and without_id:
        return "instance_ids+connected_components"
    return "connected_components" if without_id else "instance_ids"


def read_synthia_frame(rgb_path: Path, root: Path, layout: str, settings: SynthiaLabelSettings) -> Frame:
    """One SYNTHIA frame with boxes from its label file; a bad label file marks the frame."""
    name = rgb_path.relative_to(root / "RGB").as_posix()
    label_path = label_path_for(rgb_path, root, layout)
    if not label_path.is_file():
        return Frame(name=name, image_path=rgb_path, problem="missing_labels", detail=f"{label_path} not found")
    try:
        if layout == "rand_cvpr16":
            classes, instances = read_class_grid(label_path), None
        else:
            classes, instances = read_label_png(label_path)
    except ValueError as err:
        return Frame(name=name, image_path=rgb_path, problem="malformed_labels", detail=f"{label_path}: {err}")
    boxes = person_boxes_from_labels(classes, instances, settings)
    return Frame(name=name, image_path=rgb_path, persons=tuple(Person(b) for b in boxes),
                 box_source=label_box_source(classes, instances, settings))


def list_rgb_frames(root: Path) -> list[Path]:
    """Every RGB frame below `root/RGB`, sorted, or a DataError naming the expected layout."""
    rgb_dir = root / "RGB"
    if not rgb_dir.is_dir():
        raise DataError(f"SYNTHIA RGB folder not found: {rgb_dir} (expected <root>/RGB/<frame>.png)")
    frames = sorted(rgb_dir.rglob("*.png"))
    if not frames:
        raise DataError(f"SYNTHIA RGB folder {rgb_dir} holds no .png frames")
    return frames


def read_box_file(path: Path, root: Path) -> list[Frame]:
    """Hand-made SYNTHIA boxes: a CSV `name,x1,y1,x2,y2` (one row per person) or a BDD100K-style
    JSON (category `person`). Frames of RGB/ not named in the file have no person."""
    rgb_frames = list_rgb_frames(root)
    names = {p.relative_to(root / "RGB").as_posix(): p for p in rgb_frames}
    persons: dict[str, list[Person]] = {name: [] for name in names}
    broken: dict[str, Frame] = {}  # name -> its first unusable entry (problem and detail kept)
    if path.suffix.lower() == ".json":
        for index, entry in enumerate(load_label_file(path)):
            frame = parse_frame(entry, root / "RGB", ("person", "pedestrian"), source=path.name, index=index)
            if frame.problem:
                broken.setdefault(frame.name, frame)
            persons.setdefault(frame.name, []).extend(frame.persons)
    else:
        rows = _read_box_csv(path)
        for name, box in rows:
            persons.setdefault(name, []).append(Person(box))
    unknown = sorted(set(persons) - set(names) - set(broken))
    if unknown:
        raise DataError(f"SYNTHIA box file {path} names frames that are not in {root / 'RGB'}: {unknown[:5]}")
    unnamed = [frame for name, frame in broken.items() if name not in names]  # e.g. an entry without a name
    return [
        Frame(name=n, image_path=names[n], persons=tuple(persons[n]), problem=broken[n].problem, detail=broken[n].detail)
        if n in broken
        else Frame(name=n, image_path=names[n], persons=tuple(persons[n]))
        for n in names
    ] + unnamed


def _read_box_csv(path: Path) -> list[tuple[str, Box]]:
    if not path.is_file():
        raise DataError(f"SYNTHIA box file not found: {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        expected = {"name", "x1", "y1", "x2", "y2"}
        if reader.fieldnames is None or not expected <= set(reader.fieldnames):
            raise DataError(f"SYNTHIA box file {path} needs a header with columns {sorted(expected)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append((row["name"], Box(*(float(row[k]) for k in ("x1", "y1", "x2", "y2")))))
            except (TypeError, ValueError) as err:
                raise DataError(f"SYNTHIA box file {path}, line {line}: not a number ({err})") from err
    return rows
