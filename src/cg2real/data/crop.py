"""Square crops centred on the largest person: the CycleGAN's training images.

The paper crops 256x256 so that the largest person's box centre is the crop centre. A person taller
(or wider) than the crop is shrunk first, with the whole frame, until it fits; at the frame border
the crop is padded (mirror or constant), so every crop has the same size and the same centre.

A frame is decoded once, for its crop, and no larger than the crop needs: when the person is
shrunk to half the frame's size or less, a JPEG is decoded at 1/2, 1/4 or 1/8 of its size by
libjpeg's DCT scaling (OpenCV's IMREAD_REDUCED_*), cheaper than a full decode followed by the same
downscale; and only the pixels under the crop are resized, not the whole frame.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cg2real.boxes import Box
from cg2real.errors import DataError
from cg2real.images import is_jpeg

PAD_MODES = ("reflect", "constant")
# JPEG decode reductions OpenCV offers (libjpeg's scale_denom), largest first, and their flags.
_REDUCED_READS = {8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4, 2: cv2.IMREAD_REDUCED_COLOR_2}


@dataclass(frozen=True)
class CropSettings:
    """Crop size, how much of it the person may fill before the frame is shrunk, and padding."""

    size: int
    max_person_fraction: float
    pad_mode: str
    pad_value: int


@dataclass(frozen=True)
class CropGeometry:
    """Where a crop came from: frame scaled by `scale`, then the window at (`left`, `top`) in it."""

    scale: float
    left: int
    top: int
    size: int

    def to_crop(self, x: float, y: float) -> tuple[float, float]:
        """Map a point of the original frame into crop coordinates."""
        return x * self.scale - self.left, y * self.scale - self.top


def crop_scale(box: Box, settings: CropSettings) -> float:
    """1.0, or the factor that shrinks the frame so the person fits `max_person_fraction` of the crop."""
    limit = settings.size * settings.max_person_fraction
    longest = max(box.width, box.height)
    return min(1.0, limit / longest) if longest > 0 else 1.0


def crop_around_largest_person(image: np.ndarray, largest: Box, settings: CropSettings) -> tuple[np.ndarray, CropGeometry]:
    """A `size` x `size` crop of `image` whose centre is the centre of `largest`."""
    scale = crop_scale(largest, settings)
    height, width = image.shape[:2]
    if scale < 1.0:
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    cx, cy = largest.scaled(scale).center
    left = int(np.floor(cx - settings.size / 2 + 0.5))
    top = int(np.floor(cy - settings.size / 2 + 0.5))
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + settings.size, width), min(top + settings.size, height)
    inside = scaled_window(image, scale, x0, y0, x1, y1)  # never empty: the box centre lies inside the frame
    pad = ((y0 - top, top + settings.size - y1), (x0 - left, left + settings.size - x1)) + ((0, 0),) * (image.ndim - 2)
    if settings.pad_mode == "reflect":
        crop = np.pad(inside, pad, mode="reflect")
    else:
        crop = np.pad(inside, pad, mode="constant", constant_values=settings.pad_value)
    return crop, CropGeometry(scale=scale, left=left, top=top, size=settings.size)


def scaled_window(image: np.ndarray, scale: float, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """Pixels [x0, x1) x [y0, y1) of `image` scaled by `scale` (<= 1), area-averaged.

    Only the source pixels under the window are resized, not the whole frame (resizing a 1280x720
    frame cost more than decoding it); the window's edges are rounded outwards to whole source
    pixels, so it lies within one output pixel of the whole frame's resize.
    """
    if scale >= 1.0:
        return image[y0:y1, x0:x1]
    sx0, sy0 = int(x0 / scale), int(y0 / scale)
    sx1, sy1 = min(image.shape[1], math.ceil(x1 / scale)), min(image.shape[0], math.ceil(y1 / scale))
    return cv2.resize(image[sy0:sy1, sx0:sx1], (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)


def decode_reduction(scale: float) -> int:
    """The largest JPEG decode reduction (8, 4, 2, or 1 for none) that keeps at least `scale` of the frame."""
    return next((r for r in _REDUCED_READS if r * scale <= 1.0), 1)


def read_for_crop(path: Path, largest: Box, settings: CropSettings) -> tuple[np.ndarray, float]:
    """The frame (HWC uint8 BGR, as OpenCV writes it) decoded at the smallest size its crop allows,
    and that size as a fraction of the full one (1, 1/2, 1/4 or 1/8): a JPEG is reduced while
    decoding, other formats are decoded whole. A DataError names a file that cannot be read."""
    reduction = decode_reduction(crop_scale(largest, settings)) if is_jpeg(path) else 1
    image = cv2.imread(str(path), _REDUCED_READS.get(reduction, cv2.IMREAD_COLOR))
    if image is None:
        raise DataError(f"cannot read image {path} (it was readable when the manifest was written)")
    return image, 1.0 / reduction


def crop_decoded(
    image: np.ndarray, factor: float, largest: Box, settings: CropSettings
) -> tuple[np.ndarray, CropGeometry]:
    """`crop_around_largest_person` of a frame decoded at `factor` of its size (`read_for_crop`):
    the same window, with the geometry in the full frame's coordinates. `factor` is a power of two,
    so the box and the scale are the full frame's exactly."""
    crop, geometry = crop_around_largest_person(image, largest.scaled(factor), settings)
    return crop, dataclasses.replace(geometry, scale=geometry.scale * factor)
