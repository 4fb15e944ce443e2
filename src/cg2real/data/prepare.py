"""The data-stage steps as the CLI runs them: read + filter -> manifest, crops, detector sets.

Each step reads files and writes files; the per-frame work runs on a process pool. A frame's
pixels are decoded once at most: the filter checks each image file from its structure
(`images.image_file_size`), the crop step decodes the kept frames, no larger than their crops need.
"""

from __future__ import annotations

import csv
import functools
import logging
from pathlib import Path

import cv2

from cg2real.boxes import Frame
from cg2real.data.align import aligned_row
from cg2real.data.bdd100k import BDD100KSettings, read_bdd100k
from cg2real.data.crop import CropSettings, crop_decoded, read_for_crop
from cg2real.data.export import ExportSettings, export_yolo, write_coco
from cg2real.data.manifest import ManifestRow, flat_stem, read_manifest, write_manifest
from cg2real.data.names import drop_unsafe_and_duplicate_names
from cg2real.data.select import (
    FILTER_REASONS,
    FilterSettings,
    check_something_kept,
    decide,
    keep_target_count,
    log_dropped,
    without_height_threshold,
)
from cg2real.data.synthia import (
    SynthiaSettings,
    detect_layout,
    list_rgb_frames,
    read_box_file,
    read_synthia_frame,
)
from cg2real.errors import DataError
from cg2real.images import image_file_size
from cg2real.parallel import parallel_map

log = logging.getLogger(__name__)


def decide_frame(frame: Frame, settings: FilterSettings) -> ManifestRow:
    """The filter's work on one frame: its image file checked (not decoded), its persons judged."""
    return decide(frame, frame.problem or image_file_size(frame.image_path), settings)


def filter_frames(
    frames: list[Frame], settings: FilterSettings, domain: str, manifest: Path, workers: int,
    copy_on_failure: Path | None = None, target_count: int | None = None,
) -> None:
    """Decide every frame, write the manifest, and stop if nothing was kept.

    With `target_count`, the height threshold is the one that keeps that many frames
    (`select.keep_target_count`), logged. When nothing is kept the manifest that explains why is
    also written to `copy_on_failure` (the job's log folder): Snakemake deletes the outputs of a
    failed job, `manifest` included.
    """
    decide_with = without_height_threshold(settings) if target_count else settings
    rows = parallel_map(functools.partial(decide_frame, settings=decide_with), frames, workers, f"filter {domain}")
    if target_count:
        rows, threshold = keep_target_count(rows, target_count)
        kept = sum(r.kept for r in rows)
        log.info("%s: height threshold %r of the frame height keeps %d frames (target %d)",
                 domain, threshold, kept, target_count)
        if kept < target_count:
            log.warning("%s: only %d frames pass the other criteria, fewer than the target %d",
                        domain, kept, target_count)
    log_dropped(rows, domain)
    write_manifest(rows, manifest)
    try:
        check_something_kept(rows, domain)
    except DataError as err:
        if copy_on_failure is None:
            raise
        write_manifest(rows, copy_on_failure)
        raise DataError(f"{err}. Every frame and why it was dropped: {copy_on_failure}") from err


def select_bdd100k(
    labels: Path, images: Path, reader: BDD100KSettings, settings: FilterSettings, manifest: Path, workers: int,
    copy_on_failure: Path | None = None, target_count: int | None = None,
) -> None:
    frames = drop_unsafe_and_duplicate_names(read_bdd100k(labels, images, reader.person_categories), labels.name)
    filter_frames(frames, settings, f"BDD100K {labels.name}", manifest, workers, copy_on_failure, target_count)


def select_synthia(
    root: Path, box_file: Path | None, reader: SynthiaSettings, settings: FilterSettings, manifest: Path, workers: int,
    copy_on_failure: Path | None = None, target_count: int | None = None,
) -> None:
    if box_file is not None:
        frames = read_box_file(box_file, root)
    else:
        layout = detect_layout(root) if reader.layout == "auto" else reader.layout
        read = functools.partial(read_synthia_frame, root=root, layout=layout, settings=reader.labels)
        frames = parallel_map(read, list_rgb_frames(root), workers, "read SYNTHIA labels")
    frames = drop_unsafe_and_duplicate_names(frames, str(box_file or root))
    filter_frames(frames, settings, f"SYNTHIA {root.name}", manifest, workers, copy_on_failure, target_count)


def crop_frame(row: ManifestRow, out_dir: Path, settings: CropSettings) -> list[str]:
    """The crop step's work on one kept frame: one decode, the crop written as PNG; its crops.csv record."""
    image, factor = read_for_crop(Path(row.image_path), row.largest, settings)
    crop, geometry = crop_decoded(image, factor, row.largest, settings)
    file_name = flat_stem(row.name) + ".png"
    if not cv2.imwrite(str(out_dir / file_name), crop):
        raise OSError(f"could not write crop {out_dir / file_name}")
    return [file_name, row.name, f"{geometry.scale:.6f}", str(geometry.left), str(geometry.top)]


def write_crops(manifest: Path, out_dir: Path, settings: CropSettings, workers: int) -> None:
    """One crop per kept frame, plus `crops.csv` recording where each crop came from."""
    rows = [r for r in read_manifest(manifest) if r.kept]
    if not rows:
        raise DataError(f"manifest {manifest} has no kept frames to crop")
    out_dir.mkdir(parents=True, exist_ok=True)
    records = parallel_map(functools.partial(crop_frame, out_dir=out_dir, settings=settings), rows, workers, "crop")
    with (out_dir / "crops.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["crop", "frame", "scale", "left", "top"])
        writer.writerows(records)
    log.info("wrote %d crops of %dx%d to %s", len(records), settings.size, settings.size, out_dir)


def export_detector_set(
    manifest: Path, out_dir: Path, frames: str, settings: ExportSettings, coco: Path | None
) -> None:
    """YOLO folder of the kept frames (`frames="kept"`) or of every usable frame (`"all"`), each
    brought to `settings.align_size` if set (boxes scaled with it), and its COCO ground truth."""
    rows = read_manifest(manifest)
    if frames == "kept":
        chosen = [r for r in rows if r.kept]
    else:
        chosen = [r for r in rows if r.kept or r.reason in FILTER_REASONS]
    if not chosen:
        raise DataError(f"manifest {manifest} has no frames to export")
    file_names = export_yolo(chosen, out_dir, settings)
    if coco is not None:
        write_coco([aligned_row(r, settings.align_size) for r in chosen], file_names, coco)
    log.info("exported %d frames (%d persons) to %s", len(chosen), sum(len(r.persons) for r in chosen), out_dir)
