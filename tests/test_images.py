"""Image files and folders: RGB read/write, tensor conversion, listing, the YOLO layout, the leaf rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cg2real.errors import DataError
from cg2real.images import (
    IMAGE_SUFFIXES,
    PERSON_CLASS,
    YOLO_IMAGES,
    YOLO_LABELS,
    list_crops,
    list_image_files,
    read_rgb,
    require_images,
    to_image,
    to_tensor,
    write_rgb,
    yolo_data_yaml,
    yolo_image_names,
    yolo_label_path,
)


def every_byte() -> np.ndarray:
    """A 16x16 RGB image whose three channels each hold all 256 uint8 values (in different places)."""
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    return np.stack([values, values.T, values[::-1]], axis=-1)


def test_tensor_round_trip_is_exact_on_every_uint8_value():
    image = every_byte()
    tensor = to_tensor(image)
    assert tensor.shape == (3, 16, 16) and tensor.dtype == torch.float32
    assert tensor.min().item() == -1.0 and tensor.max().item() == 1.0
    assert tensor[0, 0, 0].item() == -1.0 and tensor[0, 15, 15].item() == 1.0  # channel 0 is `values`
    back = to_image(tensor)
    assert back.dtype == np.uint8 and back.shape == image.shape
    np.testing.assert_array_equal(back, image)


def test_to_tensor_takes_non_contiguous_views_and_to_image_clamps():
    image = every_byte()[:, ::-1]  # a flipped view, as the jitter makes
    np.testing.assert_array_equal(to_image(to_tensor(image)), image)
    out_of_range = torch.tensor([-3.0, -1.0, 0.0, 1.0, 7.0]).reshape(1, 1, 5)
    assert to_image(out_of_range).reshape(-1).tolist() == [0, 0, 128, 255, 255]  # 127.5 rounds to even: 128


def test_write_then_read_is_rgb_and_lossless_for_png(tmp_path):
    image = every_byte()
    image[0, 0] = (255, 0, 0)  # pure red in RGB
    path = tmp_path / "frame.png"
    write_rgb(path, image)
    assert cv2.imread(str(path))[0, 0].tolist() == [0, 0, 255]  # on disk: BGR
    np.testing.assert_array_equal(read_rgb(path), image)


def test_write_rgb_passes_encoder_params(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    write_rgb(tmp_path / "low.jpg", image, (cv2.IMWRITE_JPEG_QUALITY, 10))
    write_rgb(tmp_path / "high.jpg", image, (cv2.IMWRITE_JPEG_QUALITY, 95))
    assert (tmp_path / "low.jpg").stat().st_size < (tmp_path / "high.jpg").stat().st_size


def test_write_rgb_failure_names_the_file(tmp_path):
    path = tmp_path / "no_such_folder" / "frame.png"
    with pytest.raises(OSError, match="could not write image .*no_such_folder/frame.png"):
        write_rgb(path, every_byte())


def test_unreadable_and_missing_files_are_data_errors_naming_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot read image .*corrupt.png"):
        read_rgb(corrupt)
    with pytest.raises(DataError, match="cannot read image .*missing.jpg"):
        read_rgb(tmp_path / "missing.jpg")


def test_listing_keeps_image_suffixes_in_any_case_sorted_and_ignores_the_rest(tmp_path):
    for name in ("b.png", "a.JPG", "c.jpeg", "crops.csv", "notes.txt", "d.png.bak"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "labels").mkdir()
    assert IMAGE_SUFFIXES == (".jpg", ".jpeg", ".png")
    assert [p.name for p in list_image_files(tmp_path)] == ["a.JPG", "b.png", "c.jpeg"]
    assert all(p.parent == tmp_path for p in list_image_files(tmp_path))
    assert [p.name for p in list_image_files(tmp_path, (".png",))] == ["b.png"]
    assert list_image_files(tmp_path / "absent") == []


def test_require_images_names_what_is_missing_and_where(tmp_path):
    (tmp_path / "crops.csv").write_text("file\n")
    with pytest.raises(DataError, match=f"no images in {tmp_path}$"):
        require_images(tmp_path)
    with pytest.raises(DataError, match="no PNG/JPG images in .*absent"):
        require_images(tmp_path / "absent", "PNG/JPG images")
    (tmp_path / "x.jpg").write_bytes(b"")
    assert require_images(tmp_path) == [tmp_path / "x.jpg"]


def test_crops_are_the_png_files_only(tmp_path):
    for name in ("2.png", "1.png", "3.jpg", "crops.csv"):
        (tmp_path / name).write_bytes(b"")
    assert list_crops(tmp_path) == [tmp_path / "1.png", tmp_path / "2.png"]
    with pytest.raises(DataError, match="no .png crops in .*empty"):
        list_crops(tmp_path / "empty")


def test_yolo_image_names_are_sorted_names_of_images(tmp_path):
    for name in ("b.png", "a.jpg", "a.txt"):
        (tmp_path / YOLO_IMAGES).mkdir(exist_ok=True)
        (tmp_path / YOLO_IMAGES / name).write_bytes(b"")
    assert yolo_image_names(tmp_path) == ["a.jpg", "b.png"]
    (tmp_path / "bare").mkdir()
    assert yolo_image_names(tmp_path / "bare" / "..") == ["a.jpg", "b.png"]
    with pytest.raises(DataError, match="bare/images is not a folder: expected a YOLO data set"):
        yolo_image_names(tmp_path / "bare")


def test_yolo_layout(tmp_path):
    assert (YOLO_IMAGES, YOLO_LABELS, PERSON_CLASS) == ("images", "labels", 0)
    assert yolo_label_path(tmp_path, "cam__a.b.jpg") == tmp_path / "labels" / "cam__a.b.txt"
    assert yolo_data_yaml(tmp_path, "train/images", "val/images") == {
        "path": str(tmp_path.resolve()), "train": "train/images", "val": "val/images", "names": {0: "person"}}
    assert list(yolo_data_yaml(tmp_path, "images", "images")) == ["path", "train", "val", "names"]  # yaml order


def test_images_is_a_leaf_that_does_not_load_torch():
    probe = ("import sys, cg2real.images; "
             "print(sorted(m for m in sys.modules if m.startswith('cg2real.')), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['cg2real.errors',", "'cg2real.images']", "False"]
