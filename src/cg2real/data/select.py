"""Keep the frames whose largest person is large enough, and say why every other frame was dropped.

The paper keeps "images that contain a sufficiently large person" without a number, so the
thresholds are config values, relative to the frame (fractions of its height and area) so that one
setting means the same on BDD100K (1280x720), SYNTHIA (960x720) and the small demo frames.

The paper does give the counts it kept (4,822 BDD100K and 3,163 SYNTHIA frames), so the height
threshold can instead be found from a target count (`data.filter.target_count`): every frame is
decided once without a height threshold, and the threshold becomes the target-th largest height
fraction of the largest person among the frames that pass the other criteria (sorting, not a
search: the fractions are measured once). Ties at the threshold keep every tied frame.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from dataclasses import dataclass

from cg2real.boxes import Frame, Person
from cg2real.data.manifest import ManifestRow
from cg2real.errors import DataError

log = logging.getLogger(__name__)

KEPT = "kept"
#: Reasons a readable, well-annotated frame is dropped; such frames still serve as detector
#: validation images (they test false positives), unlike frames with broken files.
FILTER_REASONS = ("no_person", "no_visible_person", "person_too_small")


@dataclass(frozen=True)
class FilterSettings:
    """Which frames count as holding a sufficiently large person."""

    min_height_fraction: float
    min_area_fraction: float
    exclude_occluded: bool
    exclude_truncated: bool
    box_tolerance_px: float


def _visible(person: Person, settings: FilterSettings) -> bool:
    return not ((settings.exclude_occluded and person.occluded) or (settings.exclude_truncated and person.truncated))


def decide(frame: Frame, size: tuple[int, int] | str, settings: FilterSettings) -> ManifestRow:
    """The manifest row of one frame: kept, or dropped with the first reason that applies."""

    def row(usable: bool, reason: str, width: int = 0, height: int = 0, persons=(), largest=None) -> ManifestRow:
        flags = tuple({"occluded": p.occluded, "truncated": p.truncated} for p in frame.persons) if persons else ()
        return ManifestRow(
            name=frame.name,
            image_path=str(frame.image_path),
            width=width,
            height=height,
            usable=usable,
            kept=reason == KEPT,
            reason=reason,
            persons=tuple(persons),
            largest=largest,
            attributes=frame.attributes,
            person_attributes=flags,
            box_source=frame.box_source,
            detail=frame.detail,
        )

    if frame.problem:
        return row(False, frame.problem)
    if isinstance(size, str):
        return row(False, size)
    width, height = size
    for person in frame.persons:
        if not person.box.is_well_formed():
            return row(False, "malformed_box", width, height)
        if not person.box.fits_in(width, height, settings.box_tolerance_px):
            return row(False, "box_outside_image", width, height)
    boxes = [p.box.clipped(width, height) for p in frame.persons]
    candidates = [Person(b, p.occluded, p.truncated) for b, p in zip(boxes, frame.persons) if _visible(p, settings)]
    largest = max(candidates, key=lambda p: p.box.area, default=None)
    if not frame.persons:
        return row(True, "no_person", width, height)
    if largest is None:
        return row(True, "no_visible_person", width, height, boxes)
    big_enough = (
        largest.box.height >= settings.min_height_fraction * height
        and largest.box.area >= settings.min_area_fraction * width * height
    )
    reason = KEPT if big_enough else "person_too_small"
    return row(True, reason, width, height, boxes, largest.box)


def height_fraction(row: ManifestRow) -> float:
    """Height of a row's largest (visible) person as a fraction of the frame height; 0 without one."""
    return row.largest.height / row.height if row.largest is not None and row.height else 0.0


def without_height_threshold(settings: FilterSettings) -> FilterSettings:
    """The filter with every criterion but the height threshold, which `keep_target_count` then sets."""
    return dataclasses.replace(settings, min_height_fraction=0.0)


def keep_target_count(rows: list[ManifestRow], target: int) -> tuple[list[ManifestRow], float]:
    """Keep the `target` kept rows whose largest person is tallest (as a fraction of the frame
    height), drop the others as `person_too_small`; return the rows and the height threshold found.

    `rows` were decided by `without_height_threshold`. With fewer candidates than `target`, all are
    kept and the threshold is the smallest of their fractions (0.0 without any).
    """
    fractions = sorted((height_fraction(r) for r in rows if r.kept), reverse=True)
    if not fractions:
        return rows, 0.0
    threshold = fractions[min(target, len(fractions)) - 1]

    def decided(row: ManifestRow) -> ManifestRow:
        if not row.kept or height_fraction(row) >= threshold:
            return row
        detail = (f"largest person {height_fraction(row):.4f} of the frame height, below {threshold:.4f} "
                  f"(the threshold that keeps {target} frames)")
        return dataclasses.replace(row, kept=False, reason="person_too_small", detail=detail)

    return [decided(r) for r in rows], threshold


def summarize_reasons(rows: list[ManifestRow]) -> Counter[str]:
    return Counter(r.reason for r in rows)


def check_something_kept(rows: list[ManifestRow], domain: str) -> None:
    """Stop with the reason counts when the filter kept nothing: an empty data set is never useful."""
    counts = summarize_reasons(rows)
    if counts[KEPT] == 0:
        detail = ", ".join(f"{reason}: {n}" for reason, n in counts.most_common())
        raise DataError(
            f"the {domain} filter kept 0 of {len(rows)} frames ({detail}). Check the data paths, or lower "
            "data.filter.min_height_fraction / min_area_fraction in config.yaml"
        )


def log_dropped(rows: list[ManifestRow], domain: str) -> None:
    counts = summarize_reasons(rows)
    broken = {r: n for r, n in counts.items() if r != KEPT and r not in FILTER_REASONS}
    log.info("%s: kept %d of %d frames; dropped by reason: %s", domain, counts[KEPT], len(rows), dict(counts))
    if broken:
        log.warning("%s: %d frames skipped for bad files or labels: %s", domain, sum(broken.values()), broken)
