"""Translate whole CG frames to real-looking ones with a trained CycleGAN generator.

The generator is fully convolutional, so it runs on full frames with their background, not only on
the crops it was trained on. Its two stride-2 stages need sides that are multiples of 4: frames are
mirror-padded at the right and bottom and cropped back. Translation does not move people, so each
output frame keeps its source's file name and YOLO label file and drops into a detector data set.
Outside the workflow, a plain folder of images (no labels) translates the same way.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from cg2real.compact.generator import load_compact_generator
from cg2real.cyclegan.networks import define_generator
from cg2real.cyclegan.run import read_model_card
from cg2real.data.export import write_data_yaml
from cg2real.errors import DataError
from cg2real.images import YOLO_IMAGES, YOLO_LABELS, read_rgb, require_images, to_image, to_tensor, write_rgb

log = logging.getLogger(__name__)

MULTIPLE = 4


@dataclass(frozen=True)
class TranslateSettings:
    """Translation settings (config section translate)."""

    device: str  # auto, cpu or cuda
    batch_size: int  # frames per generator call (frames of one size are batched)


def load_generator(weights: Path, model_card: Path, device: torch.device) -> torch.nn.Module:
    """The generator described by a run's `model.json`, with the weights of `weights`."""
    for path in (weights, model_card):
        if not path.is_file():
            raise DataError(f"generator file not found: {path} (train the CycleGAN run first)")
    card = read_model_card(model_card)
    if card.is_compact:  # a pruned generator (cg2real.compact): its card holds the per-layer widths
        return load_compact_generator(weights, model_card, device)
    generator = define_generator(card.generator, card.ngf)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    try:
        generator.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[1] if "\n" in str(err) else str(err)
        raise DataError(
            f"{weights} does not fit a {card.generator} generator with ngf {card.ngf} ({model_card}): {first.strip()}"
        ) from err
    return generator.to(device).eval()


def pad_to_multiple(batch: torch.Tensor, multiple: int = MULTIPLE) -> torch.Tensor:
    """Mirror-pad the right and bottom of an NCHW batch up to sides divisible by `multiple`."""
    height, width = batch.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    return F.pad(batch, (0, pad_w, 0, pad_h), mode="reflect") if pad_h or pad_w else batch


@torch.no_grad()
def translate_images(generator: torch.nn.Module, images: list[np.ndarray], device: torch.device) -> list[np.ndarray]:
    """RGB uint8 images of one size -> translated RGB uint8 images of the same size."""
    batch = torch.stack([to_tensor(image) for image in images]).to(device)
    height, width = batch.shape[-2:]
    output = generator(pad_to_multiple(batch))[..., :height, :width]
    return [to_image(tensor) for tensor in output]


def translate_files(
    generator: torch.nn.Module, files: list[Path], out_dir: Path, batch_size: int, device: torch.device
) -> None:
    """Translate image `files` into `out_dir`, each under its own name and in its own format.

    Frames are batched in file order; a batch is cut where the frame size changes.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    pending: list[tuple[Path, np.ndarray]] = []

    def flush() -> None:
        translated = translate_images(generator, [image for _, image in pending], device)
        for (path, _), image in zip(pending, translated):
            # same name and format as the source (PNG for SYNTHIA), so a label file named after it still matches
            quality = (cv2.IMWRITE_JPEG_QUALITY, 95) if path.suffix.lower() in (".jpg", ".jpeg") else ()
            write_rgb(out_dir / path.name, image, quality)
        pending.clear()

    for path in tqdm(files, desc="translate", unit="img", mininterval=5):
        image = read_rgb(path)
        if pending and (len(pending) == batch_size or pending[0][1].shape != image.shape):
            flush()
        pending.append((path, image))
    flush()


def translate_detector_set(
    generator: torch.nn.Module, source: Path, out_dir: Path, batch_size: int, device: torch.device
) -> int:
    """Translate every image of a YOLO set (`source/images`), copying its labels; returns the count."""
    files = require_images(source / YOLO_IMAGES)
    shutil.copytree(source / YOLO_LABELS, out_dir / YOLO_LABELS, dirs_exist_ok=True)
    translate_files(generator, files, out_dir / YOLO_IMAGES, batch_size, device)
    write_data_yaml(out_dir)
    log.info("translated %d frames from %s to %s", len(files), source, out_dir)
    return len(files)


def translate_folder(
    generator: torch.nn.Module, in_dir: Path, out_dir: Path, batch_size: int, device: torch.device
) -> int:
    """Translate every image directly in `in_dir` (no labels: the reference CycleGAN's test script's
    use) into `out_dir` under the same names; returns the count. Frames keep their own size."""
    files = require_images(in_dir)
    if out_dir.resolve() == in_dir.resolve():
        raise DataError(f"the output folder is the input folder {in_dir}: translating would overwrite the images")
    translate_files(generator, files, out_dir, batch_size, device)
    log.info("translated %d images from %s to %s", len(files), in_dir, out_dir)
    return len(files)
