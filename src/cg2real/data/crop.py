"""Square crops centred on the largest person: the CycleGAN's training images.

The paper crops 256x256 so that the largest person's box centre is the crop centre. A person taller
(or wider) than the crop is shrunk first, with the whole frame, until it fits; at the frame border
the crop is padded (mirror or constant), so every crop has the same size and the same centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from cg2real.boxes import Box

PAD_MODES = ("reflect", "constant")


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
    if scale < 1.0:
        new_size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, new_size, interpolation=cv2.INTER_AREA)
    cx, cy = largest.scaled(scale).center
    left = int(np.floor(cx - settings.size / 2 + 0.5))
    top = int(np.floor(cy - settings.size / 2 + 0.5))
    height, width = image.shape[:2]
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + settings.size, width), min(top + settings.size, height)
    inside = image[y0:y1, x0:x1]  # never empty: the box centre lies inside the frame
    pad = ((y0 - top, top + settings.size - y1), (x0 - left, left + settings.size - x1)) + ((0, 0),) * (image.ndim - 2)
    if settings.pad_mode == "reflect":
        crop = np.pad(inside, pad, mode="reflect")
    else:
        crop = np.pad(inside, pad, mode="constant", constant_values=settings.pad_value)
    return crop, CropGeometry(scale=scale, left=left, top=top, size=settings.size)
