"""Detector data sets: whole frames with person boxes, as ultralytics YOLO folders and COCO JSON.

YOLO labels are one line per box, `0 cx cy w h`, normalised by the frame size; ultralytics finds
them by replacing `/images/` with `/labels/` in each image path. The COCO file is the ground truth
that pycocotools scores the detector against. Both describe the frames as exported, after any
alignment to one size (`cg2real.data.align`).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from cg2real.boxes import Box
from cg2real.coco import PERSON_CATEGORY, PERSON_CATEGORY_ID
from cg2real.data.align import aligned_row, write_resized
from cg2real.data.manifest import ManifestRow, flat_stem
from cg2real.images import PERSON_CLASS, YOLO_IMAGES, YOLO_LABELS, yolo_data_yaml

LINK_MODES = ("copy", "symlink", "hardlink")


@dataclass(frozen=True)
class ExportSettings:
    """Config section data.export, less `val_frames` (the rule picks the frames of each set)."""

    link_mode: str
    align_size: tuple[int, ...] | None  # [width, height] every frame is brought to; None: as they are


def yolo_line(box: Box, width: int, height: int) -> str:
    cx, cy = box.center
    return f"{PERSON_CLASS} {cx / width:.6f} {cy / height:.6f} {box.width / width:.6f} {box.height / height:.6f}"


def parse_yolo_line(line: str, width: int, height: int) -> Box:
    """Inverse of `yolo_line` (used to check exported sets)."""
    _, cx, cy, w, h = (float(v) for v in line.split())
    return Box((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)


def place_image(source: Path, target: Path, link_mode: str) -> None:
    """Put `source` at `target` by copy, symlink or hard link (copy when a hard link cannot cross disks)."""
    target.unlink(missing_ok=True)
    if link_mode == "symlink":
        target.symlink_to(source.resolve())
    elif link_mode == "hardlink":
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
    else:
        shutil.copy2(source, target)


def export_yolo(rows: list[ManifestRow], out_dir: Path, settings: ExportSettings) -> list[str]:
    """Write `out_dir/{images,labels}/` and `data.yaml`; return the exported file names in order.

    A frame at `settings.align_size` (or any frame, without one) is placed by `settings.link_mode`;
    another is written resized, its labels from the scaled boxes.
    """
    images_dir, labels_dir = out_dir / YOLO_IMAGES, out_dir / YOLO_LABELS
    images_dir.mkdir(parents=True, exist_ok=True)
    labels_dir.mkdir(parents=True, exist_ok=True)
    file_names = []
    for row in rows:
        source = Path(row.image_path)
        stem = flat_stem(row.name)
        file_name = stem + source.suffix.lower()
        exported = aligned_row(row, settings.align_size)
        if exported is row:
            place_image(source, images_dir / file_name, settings.link_mode)
        else:
            write_resized(source, images_dir / file_name, exported.width, exported.height)
        lines = [yolo_line(b, exported.width, exported.height) for b in exported.persons]
        (labels_dir / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))
        file_names.append(file_name)
    write_data_yaml(out_dir)
    return file_names


def write_data_yaml(out_dir: Path) -> None:
    """ultralytics' `data.yaml` for a one-class set whose images are in `out_dir/images`."""
    data = yolo_data_yaml(out_dir, YOLO_IMAGES, YOLO_IMAGES)
    (out_dir / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def coco_ground_truth(rows: list[ManifestRow], file_names: list[str]) -> dict:
    """COCO detection ground truth (one category, `person`, id 1) for the exported frames."""
    images, annotations = [], []
    for image_id, (row, file_name) in enumerate(zip(rows, file_names), start=1):
        images.append({"id": image_id, "file_name": file_name, "width": row.width, "height": row.height})
        for box in row.persons:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": PERSON_CATEGORY_ID,
                    "bbox": [round(box.x1, 2), round(box.y1, 2), round(box.width, 2), round(box.height, 2)],
                    "area": round(box.area, 2),
                    "iscrowd": 0,
                }
            )
    return {
        "info": {"description": "cg2real person ground truth"},
        "images": images,
        "annotations": annotations,
        "categories": [PERSON_CATEGORY],
    }


def write_coco(rows: list[ManifestRow], file_names: list[str], path: Path) -> None:
    path.write_text(json.dumps(coco_ground_truth(rows, file_names), indent=1))
