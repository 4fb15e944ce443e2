"""The data-stage steps as the CLI runs them: read + filter -> manifest, crops, detector sets.

Each step reads files and writes files; the per-frame work runs on a process pool.
"""

from __future__ import annotations

import csv
import functools
import logging
from pathlib import Path

import cv2

from cg2real.boxes import Frame
from cg2real.data.bdd100k import BDD100KSettings, read_bdd100k
from cg2real.data.crop import CropSettings, crop_around_largest_person
from cg2real.data.export import export_yolo, write_coco
from cg2real.data.manifest import ManifestRow, flat_stem, read_manifest, write_manifest
from cg2real.data.names import drop_unsafe_and_duplicate_names
from cg2real.data.select import FILTER_REASONS, FilterSettings, check_something_kept, decide, image_size, log_dropped
from cg2real.data.synthia import (
    SynthiaSettings,
    detect_layout,
    list_rgb_frames,
    read_box_file,
    read_synthia_frame,
)
from cg2real.errors import DataError
from cg2real.parallel import parallel_map

log = logging.getLogger(__name__)


def _decide_frame(frame: Frame, settings: FilterSettings) -> ManifestRow:
    return decide(frame, frame.problem or image_size(frame.image_path), settings)


def filter_frames(
    frames: list[Frame], settings: FilterSettings, domain: str, manifest: Path, workers: int,
    copy_on_failure: Path | None = None,
) -> None:
    """Decide every frame, write the manifest, and stop if nothing was kept.

    When nothing is kept the manifest that explains why is also written to `copy_on_failure`
    (the job's log folder): Snakemake deletes the outputs of a failed job, `manifest` included.
    """
    rows = parallel_map(functools.partial(_decide_frame, settings=settings), frames, workers, f"filter {domain}")
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
    copy_on_failure: Path | None = None,
) -> None:
    frames = drop_unsafe_and_duplicate_names(read_bdd100k(labels, images, reader.person_categories), labels.name)
    filter_frames(frames, settings, f"BDD100K {labels.name}", manifest, workers, copy_on_failure)


def select_synthia(
    root: Path, box_file: Path | None, reader: SynthiaSettings, settings: FilterSettings, manifest: Path, workers: int,
    copy_on_failure: Path | None = None,
) -> None:
    if box_file is not None:
        frames = read_box_file(box_file, root)
    else:
        layout = detect_layout(root) if reader.layout == "auto" else reader.layout
        read = functools.partial(read_synthia_frame, root=root, layout=layout, settings=reader.labels)
        frames = parallel_map(read, list_rgb_frames(root), workers, "read SYNTHIA labels")
    frames = drop_unsafe_and_duplicate_names(frames, str(box_file or root))
    filter_frames(frames, settings, f"SYNTHIA {root.name}", manifest, workers, copy_on_failure)


def _crop_one(row: ManifestRow, out_dir: Path, settings: CropSettings) -> list[str]:
    image = cv2.imread(row.image_path, cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"cannot read image {row.image_path} (it was readable when the manifest was written)")
    crop, geometry = crop_around_largest_person(image, row.largest, settings)
    file_name = flat_stem(row.name) + ".png"
    cv2.imwrite(str(out_dir / file_name), crop)
    return [file_name, row.name, f"{geometry.scale:.6f}", str(geometry.left), str(geometry.top)]


def write_crops(manifest: Path, out_dir: Path, settings: CropSettings, workers: int) -> None:
    """One crop per kept frame, plus `crops.csv` recording where each crop came from."""
    rows = [r for r in read_manifest(manifest) if r.kept]
    if not rows:
        raise DataError(f"manifest {manifest} has no kept frames to crop")
    out_dir.mkdir(parents=True, exist_ok=True)
    records = parallel_map(functools.partial(_crop_one, out_dir=out_dir, settings=settings), rows, workers, "crop")
    with (out_dir / "crops.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["crop", "frame", "scale", "left", "top"])
        writer.writerows(records)
    log.info("wrote %d crops of %dx%d to %s", len(records), settings.size, settings.size, out_dir)


def export_detector_set(manifest: Path, out_dir: Path, frames: str, link_mode: str, coco: Path | None) -> None:
    """YOLO folder of the kept frames (`frames="kept"`) or of every usable frame (`"all"`)."""
    rows = read_manifest(manifest)
    if frames == "kept":
        chosen = [r for r in rows if r.kept]
    else:
        chosen = [r for r in rows if r.kept or r.reason in FILTER_REASONS]
    if not chosen:
        raise DataError(f"manifest {manifest} has no frames to export")
    file_names = export_yolo(chosen, out_dir, link_mode)
    if coco is not None:
        write_coco(chosen, file_names, coco)
    log.info("exported %d frames (%d persons) to %s", len(chosen), sum(len(r.persons) for r in chosen), out_dir)
