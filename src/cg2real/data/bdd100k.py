"""Reader for BDD100K detection labels, in every layout the data set has shipped.

Accepted: the 2018 `bdd100k_labels_images_{train,val}.json` files (category `person`), the 2020
`det_20` files (category `pedestrian`, string ids), and Scalabel exports (`videoName`,
`frameIndex`/`index`, or a `{"frames": [...]}` object). A `"labels": null` frame has no labels.
Attribute keys are matched without regard to case (`Occluded` in the 2020 MOT release).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cg2real.boxes import Box, Frame, Person
from cg2real.errors import DataError

FRAME_ATTRIBUTES = ("weather", "scene", "timeofday")


def load_label_file(path: Path) -> list[dict[str, Any]]:
    """Parse a BDD100K/Scalabel label file into its list of frame dicts, or raise DataError."""
    if not path.is_file():
        raise DataError(f"BDD100K label file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise DataError(f"BDD100K label file is empty: {path}")
    try:
        content = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"BDD100K label file is not valid JSON: {path} (line {err.lineno}: {err.msg})") from err
    if isinstance(content, dict) and isinstance(content.get("frames"), list):
        content = content["frames"]
    if not isinstance(content, list):
        raise DataError(
            f"BDD100K label file {path} must hold a JSON list of frames (or an object with 'frames'), "
            f"found {type(content).__name__}"
        )
    if not content:
        raise DataError(f"BDD100K label file holds no frames: {path}")
    return content


def _attribute(attributes: dict[str, Any] | None, key: str) -> bool | None:
    """Look up a boolean label attribute by case-insensitive key; None when absent."""
    for name, value in (attributes or {}).items():
        if name.lower() == key:
            return bool(value)
    return None


def _parse_box(box2d: Any) -> Box | None:
    """A Box from a `box2d` dict, or None when a coordinate is missing or not a number."""
    try:
        coords = [float(box2d[k]) for k in ("x1", "y1", "x2", "y2")]
    except (TypeError, KeyError, ValueError):
        return None
    return Box(*coords) if all(math.isfinite(c) for c in coords) else None


def parse_frame(entry: Any, images_dir: Path, person_categories: Iterable[str]) -> Frame:
    """Turn one frame dict into a Frame with its person boxes.

    A frame whose entry is unusable is returned with `problem` set, so the manifest records it.
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        name = entry.get("name") if isinstance(entry, dict) else None
        return Frame(name=str(name), image_path=images_dir / str(name), problem="malformed_label")
    name = entry["name"]
    image_path = images_dir / name
    categories = set(person_categories)
    persons: list[Person] = []
    for label in entry.get("labels") or []:
        if not isinstance(label, dict) or label.get("category") not in categories:
            continue
        if label.get("box2d") is None:  # a person drawn as a polygon only: not a box annotation
            continue
        box = _parse_box(label["box2d"])
        if box is None:
            return Frame(name=name, image_path=image_path, problem="malformed_box")
        attrs = label.get("attributes")
        persons.append(Person(box, _attribute(attrs, "occluded"), _attribute(attrs, "truncated")))
    frame_attrs = entry.get("attributes") or {}
    attributes = {k: str(frame_attrs[k]) for k in FRAME_ATTRIBUTES if k in frame_attrs}
    return Frame(name=name, image_path=image_path, persons=tuple(persons), attributes=attributes)


@dataclass(frozen=True)
class BDD100KSettings:
    """Reader settings of config section data.bdd100k (its paths arrive as the rule's inputs)."""

    person_categories: tuple[str, ...]


def read_bdd100k(labels_path: Path, images_dir: Path, person_categories: Iterable[str]) -> list[Frame]:
    """All frames of one BDD100K split with their person boxes (images are not opened here)."""
    if not images_dir.is_dir():
        raise DataError(f"BDD100K image folder not found: {images_dir}")
    categories = tuple(person_categories)
    return [parse_frame(entry, images_dir, categories) for entry in load_label_file(labels_path)]
