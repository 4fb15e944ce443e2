"""Image files and folders: RGB reading and writing, tensor conversion, listing, the YOLO layout.

A leaf module: besides the standard library, numpy, cv2, PIL and torch it imports only
`cg2real.errors`, so any stage can read a frame without importing another stage's code. torch is
imported only by the tensor conversions, so the data stages that list and write images stay
torch-free.

Images in memory are HWC uint8 RGB (cv2 reads and writes BGR: the conversion happens here).
A YOLO folder (ultralytics' layout) holds `images/` and `labels/`, one `<stem>.txt` label file per
image; ultralytics finds a label by swapping `/images/` for `/labels/` in the image's path.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from cg2real.errors import DataError

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
YOLO_IMAGES = "images"
YOLO_LABELS = "labels"
PERSON_CLASS = 0  # the detector's one class index; also COCO-pretrained models' person class
JPEG_START = b"\xff\xd8"  # SOI marker: how a JPEG is told from its content, whatever its suffix
JPEG_END = b"\xff\xd9"  # EOI marker
# What PIL raises on a file it cannot parse: unknown format, truncated, bad checksum, bad values.
_BROKEN = (OSError, SyntaxError, EOFError, ValueError, UnidentifiedImageError)


def image_file_size(path: Path) -> tuple[int, int] | str:
    """(width, height) of an image file whose data is whole, else why it cannot be used:
    `missing_image` or `unreadable_image`.

    Whole is judged from the file's structure, without decoding the pixels, where the structure
    is enough (decoding every frame once just to find broken ones was the data stage's main
    cost): PIL parses the header of any format (a zero-byte file, text, a file cut inside its
    header fail there). A JPEG must then end with its EOI marker: a cut-off JPEG does not, since
    inside the entropy-coded data 0xFF is always followed by 0x00 or a restart marker, never by
    0xD9. A PNG must pass PIL's `verify`: every chunk up to IEND is present and matches its CRC.
    Any other format, and a JPEG that does not end with EOI (bytes after it are legal), is
    decoded whole, as before. What neither check nor a full decode catches: a JPEG whose
    entropy-coded bytes were altered in place (libjpeg decodes it with a warning; PIL raises nothing).
    The suffix plays no part: a PNG named .jpg is read as the PNG it is.
    """
    if not path.is_file():
        return "missing_image"
    try:
        with Image.open(path) as image:
            size = image.size
            if image.format == "PNG":
                image.verify()
            elif not (image.format == "JPEG" and _ends_with(path, JPEG_END)):
                image.load()
            return size
    except _BROKEN:
        return "unreadable_image"


def _ends_with(path: Path, marker: bytes) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() < len(marker):
            return False
        handle.seek(-len(marker), 2)
        return handle.read() == marker


def is_jpeg(path: Path) -> bool:
    """True when the file's content starts like a JPEG (its suffix is not trusted)."""
    with path.open("rb") as handle:
        return handle.read(len(JPEG_START)) == JPEG_START


def read_rgb(path: Path) -> np.ndarray:
    """An image file as HWC uint8 RGB, or a DataError naming the file."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def write_rgb(path: Path, rgb: np.ndarray, params: tuple[int, ...] = ()) -> None:
    """Write an HWC uint8 RGB image (format from the suffix, cv2 `params`), or an OSError naming the file."""
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), list(params)):
        raise OSError(f"could not write image {path}")


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """HWC uint8 RGB -> CHW float in [-1, 1], the generator's tanh range."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(127.5).sub(1.0)


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """CHW float in [-1, 1] -> HWC uint8 RGB."""
    array = tensor.detach().float().clamp(-1, 1).add(1).mul(127.5).round().byte().cpu().numpy()
    return array.transpose(1, 2, 0)


def list_image_files(folder: Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[Path]:
    """The files directly in `folder` whose suffix (any case) is in `suffixes`, sorted; other files
    (crops.csv, ...) are ignored. None when `folder` is not a folder."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)


def require_images(folder: Path, what: str = "images", suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[Path]:
    """`list_image_files`, or a DataError 'no {what} in {folder}' when there is none."""
    files = list_image_files(folder, suffixes)
    if not files:
        raise DataError(f"no {what} in {folder}")
    return files


def list_crops(folder: Path) -> list[Path]:
    """The .png crops of a crop folder (`cg2real.data.crop` writes PNG), sorted; a DataError when none."""
    return require_images(folder, ".png crops", (".png",))


def yolo_image_names(folder: Path) -> list[str]:
    """Image file names of a YOLO folder (`folder/images`), sorted; a DataError when it has no `images/`."""
    images = folder / YOLO_IMAGES
    if not images.is_dir():
        raise DataError(f"{images} is not a folder: expected a YOLO data set (images/ and labels/)")
    return [p.name for p in list_image_files(images)]


def yolo_label_path(folder: Path, image_name: str) -> Path:
    """The label file of image `image_name` in YOLO folder `folder`: `labels/<stem>.txt`."""
    return folder / YOLO_LABELS / (Path(image_name).stem + ".txt")


def yolo_data_yaml(root: Path, train: str, val: str) -> dict:
    """ultralytics' `data.yaml` content for a one-class (person) set: `train`/`val` relative to `root`."""
    return {"path": str(root.resolve()), "train": train, "val": val, "names": {PERSON_CLASS: "person"}}
