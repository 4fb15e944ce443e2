"""One frame size for both data sets before the detector sees them.

Paper 000 (section 3.3): "the image sizes of BDD100K and SYNTHIA are aligned before they are given
to YOLOv3, which resizes them to 608x608 internally". It names neither the size nor the way, so
`data.export.align_size` names the size and a frame is stretched to it (width and height scaled
each on its own), the way darknet's loader brings every frame to its network input: the boxes
scale with the image, so the labels stay exact. A SYNTHIA frame (960x720) aligned to BDD100K's
1280x720 becomes 4/3 as wide, its height unchanged. A frame already at the size is placed as it is
(linked or copied, never re-encoded); a resized one keeps its format: a PNG stays lossless, a JPEG
is written at quality `JPEG_QUALITY`.

The person-centred crops (CycleGAN's training images) are cut from the original frames, as the
paper's were; alignment only concerns the whole frames of the detector sets, and through them the
translated CG frames, since translation reads the exported CG set.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2

from cg2real.boxes import Box
from cg2real.data.manifest import ManifestRow
from cg2real.errors import DataError
from cg2real.images import read_rgb, write_rgb

JPEG_QUALITY = 95


def target_size(size: tuple[int, ...] | list[int] | None) -> tuple[int, int] | None:
    """`data.export.align_size` as (width, height), or None when frames keep their own size."""
    if size is None:
        return None
    if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
        raise DataError(f"data.export.align_size must be null or [width, height] in pixels, got {size!r}")
    return int(size[0]), int(size[1])


def aligned_row(row: ManifestRow, size: tuple[int, ...] | list[int] | None) -> ManifestRow:
    """The row as its frame is exported: at `size` with every box scaled with it (unchanged without)."""
    width, height = target_size(size) or (row.width, row.height)
    if (width, height) == (row.width, row.height):
        return row
    sx, sy = width / row.width, height / row.height

    def scaled(box: Box) -> Box:
        return Box(box.x1 * sx, box.y1 * sy, box.x2 * sx, box.y2 * sy)

    return dataclasses.replace(
        row, width=width, height=height, persons=tuple(scaled(b) for b in row.persons),
        largest=scaled(row.largest) if row.largest is not None else None,
    )


def write_resized(source: Path, target: Path, width: int, height: int) -> None:
    """Write `source` stretched to width x height at `target`, in `target`'s format.

    Area averaging where both sides shrink (no aliasing), bilinear where either grows.
    """
    image = read_rgb(source)
    shrinks = width <= image.shape[1] and height <= image.shape[0]
    resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinks else cv2.INTER_LINEAR)
    params = (cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY) if target.suffix.lower() in (".jpg", ".jpeg") else ()
    target.unlink(missing_ok=True)
    write_rgb(target, resized, params)
