import numpy as np
import pytest

from cg2real.boxes import Box
from cg2real.data.crop import CropSettings, crop_around_largest_person, crop_scale


def settings(size=64, fraction=1.0, pad="reflect") -> CropSettings:
    return CropSettings(size=size, max_person_fraction=fraction, pad_mode=pad, pad_value=7)


def coordinate_image(height=120, width=200) -> np.ndarray:
    """Each pixel holds its own (x, y), so a crop shows where it came from."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs, ys, np.zeros_like(xs)], axis=-1).astype(np.int32)


def test_person_centre_is_crop_centre():
    image = coordinate_image()
    box = Box(90, 30, 110, 90)  # centre (100, 60)
    crop, geometry = crop_around_largest_person(image, box, settings())
    assert crop.shape == (64, 64, 3)
    assert tuple(crop[32, 32, :2]) == (100, 60)
    assert geometry.to_crop(*box.center) == (32, 32)


def test_border_person_is_padded_to_full_size():
    image = coordinate_image()
    box = Box(0, 0, 10, 20)  # centre (5, 10), crop reaches past the top-left corner
    crop, geometry = crop_around_largest_person(image, box, settings(pad="constant"))
    assert crop.shape == (64, 64, 3)
    assert tuple(crop[32, 32, :2]) == (5, 10)
    assert (crop[0, 0] == 7).all()  # constant padding
    reflected, _ = crop_around_largest_person(image, box, settings(pad="reflect"))
    # crop row r shows frame row r - 22; rows above the frame mirror across row 0
    assert tuple(reflected[20, 32, :2]) == (5, 2)
    assert tuple(reflected[0, 32, :2]) == (5, 22)


def test_person_taller_than_crop_is_shrunk_to_fit():
    image = np.zeros((400, 400, 3), np.uint8)
    box = Box(150, 50, 190, 350)  # 300 px tall, crop 64
    assert crop_scale(box, settings()) == pytest.approx(64 / 300)
    crop, geometry = crop_around_largest_person(image, box, settings(fraction=0.5))
    assert crop.shape == (64, 64, 3)
    assert geometry.scale == pytest.approx(32 / 300)
    top = geometry.to_crop(box.x1, box.y1)
    bottom = geometry.to_crop(box.x2, box.y2)
    assert bottom[1] - top[1] == pytest.approx(32, abs=1e-6)
    assert (top[1] + bottom[1]) / 2 == pytest.approx(32, abs=1)


def test_small_person_not_scaled():
    assert crop_scale(Box(0, 0, 10, 30), settings()) == 1.0
