import cv2
import numpy as np
import pytest

from cg2real.boxes import Box
from cg2real.data.crop import (
    CropSettings,
    crop_around_largest_person,
    crop_decoded,
    crop_scale,
    decode_reduction,
    read_for_crop,
)
from cg2real.errors import DataError


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


def smooth_frame(height=288, width=512) -> np.ndarray:
    """A BGR frame of gentle gradients: reduced decoding and area resizing agree on it closely."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([xs / width * 255, ys / height * 255, (xs + ys) / (width + height) * 255], -1).astype(np.uint8)


@pytest.mark.parametrize("scale, reduction", [(1.0, 1), (0.6, 1), (0.5, 2), (0.3, 2), (0.25, 4), (0.2, 4), (0.1, 8)])
def test_decode_reduction_keeps_at_least_the_crop_scale(scale, reduction):
    assert decode_reduction(scale) == reduction


@pytest.mark.parametrize("person_height, factor", [(40, 1.0), (64, 0.5), (200, 0.25), (256, 0.125)])
def test_a_jpeg_is_decoded_no_larger_than_its_crop_needs(tmp_path, person_height, factor):
    frame = tmp_path / "frame.jpg"
    assert cv2.imwrite(str(frame), smooth_frame(), [cv2.IMWRITE_JPEG_QUALITY, 98])
    box = Box(200, 20, 240, 20 + person_height)
    image, got = read_for_crop(frame, box, settings(size=64, fraction=0.5))  # the person shrinks to 32 px
    assert got == factor
    assert image.shape == (round(288 * factor), round(512 * factor), 3)


def test_a_crop_from_a_reduced_decode_matches_the_full_decode(tmp_path):
    frame = tmp_path / "frame.jpg"
    assert cv2.imwrite(str(frame), smooth_frame(), [cv2.IMWRITE_JPEG_QUALITY, 98])
    box = Box(180.5, 30.25, 250, 270)  # 239.75 px tall, crop 64 at fraction 0.5: scale 0.133, decoded at 1/4
    crop_settings = settings(size=64, fraction=0.5)
    image, factor = read_for_crop(frame, box, crop_settings)
    assert factor == 0.25
    reduced, geometry = crop_decoded(image, factor, box, crop_settings)
    full, full_geometry = crop_around_largest_person(cv2.imread(str(frame)), box, crop_settings)
    assert geometry == full_geometry  # the same window of the same frame, in full-frame coordinates
    assert geometry.to_crop(*box.center) == pytest.approx((32, 32), abs=0.5)
    assert np.abs(reduced.astype(int) - full.astype(int)).mean() < 2.0


def test_other_formats_are_decoded_whole(tmp_path):
    frame = tmp_path / "frame.jpg"  # a PNG, whatever its name says
    assert cv2.imwrite(str(tmp_path / "frame.png"), smooth_frame())
    frame.write_bytes((tmp_path / "frame.png").read_bytes())
    image, factor = read_for_crop(frame, Box(0, 0, 100, 280), settings(size=64, fraction=0.5))
    assert factor == 1.0 and image.shape == (288, 512, 3)


def test_a_frame_that_cannot_be_read_names_its_file(tmp_path):
    (tmp_path / "gone.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="cannot read image .*gone.jpg"):
        read_for_crop(tmp_path / "gone.jpg", Box(0, 0, 10, 10), settings())


@pytest.mark.parametrize(
    "box", [Box(200, 20, 240, 276), Box(0, 0, 30, 200), Box(480, 100, 512, 288), Box(100.5, 10.25, 160, 250)]
)
def test_the_scaled_window_matches_scaling_the_whole_frame(box):
    """Only the pixels under the crop are resized; the crop stays within a pixel of the whole frame's resize."""
    frame = smooth_frame()
    crop_settings = settings(size=64, fraction=0.6)
    crop, geometry = crop_around_largest_person(frame, box, crop_settings)
    whole = cv2.resize(frame, (round(512 * geometry.scale), round(288 * geometry.scale)), interpolation=cv2.INTER_AREA)
    padded = np.pad(whole, ((64, 64), (64, 64), (0, 0)), mode="reflect")
    expected = padded[geometry.top + 64:geometry.top + 128, geometry.left + 64:geometry.left + 128]
    assert crop.shape == expected.shape == (64, 64, 3)
    assert np.abs(crop.astype(int) - expected.astype(int)).mean() < 2.0
