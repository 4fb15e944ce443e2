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
    image_file_size,
    is_jpeg,
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


def textured(height=48, width=128, seed=0) -> np.ndarray:
    """A smooth random RGB image: JPEG data of a realistic density, not one flat block."""
    noise = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (5, 5), 0)


@pytest.fixture(params=["baseline", "progressive", "restart_markers"])
def jpeg(request, tmp_path) -> Path:
    """A whole JPEG of each kind libjpeg writes (restart markers: 0xFFD0-D7 inside the scan data)."""
    params = {"baseline": [], "progressive": [cv2.IMWRITE_JPEG_PROGRESSIVE, 1],
              "restart_markers": [cv2.IMWRITE_JPEG_RST_INTERVAL, 1]}[request.param]
    path = tmp_path / "whole.jpg"
    assert cv2.imwrite(str(path), textured(), params)
    return path


def test_whole_files_give_their_size(tmp_path, jpeg):
    assert image_file_size(jpeg) == (128, 48)
    write_rgb(tmp_path / "frame.png", textured())
    assert image_file_size(tmp_path / "frame.png") == (128, 48)


def test_a_jpeg_cut_anywhere_is_unreadable(tmp_path, jpeg):
    """Cuts through the header, the scan data and the EOI marker itself (its last byte, 0xD9)."""
    data = jpeg.read_bytes()
    cut = tmp_path / "cut.jpg"
    for length in [*range(0, 700, 13), *range(700, len(data) - 16, 97), *range(len(data) - 16, len(data))]:
        cut.write_bytes(data[:length])
        assert image_file_size(cut) == "unreadable_image", f"cut at {length} of {len(data)} bytes"


def test_a_png_cut_or_altered_is_unreadable(tmp_path):
    write_rgb(tmp_path / "frame.png", textured())
    data = (tmp_path / "frame.png").read_bytes()
    cut = tmp_path / "cut.png"
    for length in range(0, len(data) - 4, 97):  # the last 4 bytes are IEND's CRC, after every pixel
        cut.write_bytes(data[:length])
        assert image_file_size(cut) == "unreadable_image", f"cut at {length} of {len(data)} bytes"
    altered = bytearray(data)
    altered[len(data) // 2] ^= 0xFF  # inside the image data: its chunk's CRC no longer matches
    cut.write_bytes(bytes(altered))
    assert image_file_size(cut) == "unreadable_image"


def test_empty_missing_and_foreign_files(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_bytes(b"<html>404 not found</html>")
    (tmp_path / "soi_then_garbage.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (tmp_path / "only_markers.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    for name in ("empty.jpg", "text.jpg", "soi_then_garbage.jpg", "only_markers.jpg"):
        assert image_file_size(tmp_path / name) == "unreadable_image", name
    assert image_file_size(tmp_path / "missing.jpg") == "missing_image"
    assert image_file_size(tmp_path) == "missing_image"  # a folder is no image file


def test_the_content_decides_not_the_suffix(tmp_path, jpeg):
    write_rgb(tmp_path / "frame.png", textured())
    (tmp_path / "png_inside.jpg").write_bytes((tmp_path / "frame.png").read_bytes())
    assert image_file_size(tmp_path / "png_inside.jpg") == (128, 48)
    assert not is_jpeg(tmp_path / "png_inside.jpg")
    (tmp_path / "jpeg_inside.png").write_bytes(jpeg.read_bytes())
    assert image_file_size(tmp_path / "jpeg_inside.png") == (128, 48) and is_jpeg(tmp_path / "jpeg_inside.png")


def test_bytes_after_the_end_marker_are_legal_and_decoded_to_check(tmp_path, jpeg):
    """No EOI at the end of the file: the file is decoded whole, which accepts a trailer but not a cut."""
    data = jpeg.read_bytes()
    (tmp_path / "trailer.jpg").write_bytes(data + b"camera maker's trailer")
    assert image_file_size(tmp_path / "trailer.jpg") == (128, 48)
    (tmp_path / "cut_with_trailer.jpg").write_bytes(data[: len(data) // 2] + b"trailer")
    assert image_file_size(tmp_path / "cut_with_trailer.jpg") == "unreadable_image"


def test_other_formats_are_decoded_whole(tmp_path):
    bmp = tmp_path / "frame.bmp"
    assert cv2.imwrite(str(bmp), textured())
    assert image_file_size(bmp) == (128, 48)
    bmp.write_bytes(bmp.read_bytes()[:-500])
    assert image_file_size(bmp) == "unreadable_image"


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
