"""Axis-aligned person boxes and the frame record every reader returns.

Shared by the data stage (filter, crop, export), the translation stage (labels carried over)
and the detector stage (matching by IoU), so the geometry lives in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Box:
    """A box in pixel coordinates: (x1, y1) top-left, (x2, y2) bottom-right, x2 >= x1, y2 >= y1."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2

    def is_well_formed(self) -> bool:
        """True when all coordinates are finite and the box has a positive width and height."""
        coords = (self.x1, self.y1, self.x2, self.y2)
        return all(math.isfinite(c) for c in coords) and self.x2 > self.x1 and self.y2 > self.y1

    def fits_in(self, width: int, height: int, tolerance: float) -> bool:
        """True when the box lies inside a width x height image, give or take `tolerance` pixels.

        Annotation tools let boxes overhang the border by a pixel or so (BDD100K has x2 = 1280.3);
        that is clipped, while a box far outside the image is an annotation error.
        """
        return (
            self.x1 >= -tolerance
            and self.y1 >= -tolerance
            and self.x2 <= width + tolerance
            and self.y2 <= height + tolerance
        )

    def clipped(self, width: int, height: int) -> Box:
        return Box(
            min(max(self.x1, 0.0), width),
            min(max(self.y1, 0.0), height),
            min(max(self.x2, 0.0), width),
            min(max(self.y2, 0.0), height),
        )

    def scaled(self, factor: float) -> Box:
        return Box(self.x1 * factor, self.y1 * factor, self.x2 * factor, self.y2 * factor)

    def iou(self, other: Box) -> float:
        """Intersection over union; 0 for disjoint or empty boxes."""
        inter = Box(
            max(self.x1, other.x1), max(self.y1, other.y1), min(self.x2, other.x2), min(self.y2, other.y2)
        ).area
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in `a` (N x 4, x1 y1 x2 y2) with every box in `b` (M x 4), as N x M.

    The vectorised form of `Box.iou`: a validation split at confidence 0.001 has hundreds of
    detections per frame, too many for a Python loop over pairs.
    """
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(axis=1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


@dataclass(frozen=True)
class Person:
    """One annotated person: its box and, where the data set records them, visibility flags."""

    box: Box
    occluded: bool | None = None
    truncated: bool | None = None


# How a frame's person boxes were made: drawn by annotators (BDD100K, a hand-made box file), the
# extent of a SYNTHIA instance id, or of an 8-connected component of person pixels (SYNTHIA
# without instance ids, where two people who touch become one box); a SYNTHIA frame whose person
# pixels are partly without instance id says "instance_ids+connected_components".
BOX_SOURCES = ("annotated", "instance_ids", "connected_components")


@dataclass(frozen=True)
class Frame:
    """One image of a data set with its person annotations, as a reader returns it.

    `problem` is set when the annotation itself is unusable (e.g. a malformed label grid); the
    frame is then kept in the manifest as dropped, with this reason, instead of vanishing, and
    `detail` says where and what (file, entry index, the offending value). `box_source` says how
    the boxes were made, so results can be read knowing it (see BOX_SOURCES).
    """

    name: str
    image_path: Path
    persons: tuple[Person, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    detail: str = ""
    box_source: str = "annotated"

    def largest_person(self) -> Person | None:
        """The person with the largest box area (first one on ties), or None without persons."""
        return max(self.persons, key=lambda p: p.box.area, default=None)
