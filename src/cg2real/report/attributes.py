"""Table 2 broken down by frame attributes (time of day, weather): beyond the paper, which names this
as future work (issue 17).

Each validation image carries BDD100K's frame attributes in the validation manifest. For every
condition row and every (attribute, value) group of images, mAP@0.5 is computed from the row's
cached per-replicate detections, with no inference: the exact AP of `cg2real.scoring`, by the row's
AP method, with every image outside the group weighted 0, which is that AP on the group's images alone. The row
gets the replicates' mean with a 95% t-interval over seeds, and a 95% percentile bootstrap over the
group's images; against row a, the paired difference with both intervals (by seed, and on the same
resampled images), as in Table 2. A group without persons has no AP and shows none.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cg2real.errors import DataError
from cg2real.report.intervals import (
    BOOTSTRAP_SEED, RESAMPLES, Estimate, bootstrap_counts, bootstrap_map50, percentile_interval, t_interval,
)
from cg2real.report.table2 import ap_method
from cg2real.report.tables import write_csv, write_markdown_page
from cg2real.scoring import ImageOutcomes, average_precision

ATTRIBUTES = ("timeofday", "weather")  # the BDD100K frame attributes the paper names as future work
UNDEFINED = "undefined"  # BDD100K's own value for an attribute nobody set
TITLE = "Table 2 by frame attribute"
REFERENCE = "a"  # every other row is compared with this one, when the table has it
COLUMNS = ("attribute", "value", "images", "persons", "row", "replicates", "mAP@0.50 %", "mAP 95% CI seeds",
           "mAP 95% CI images", f"Δ mAP vs {REFERENCE}", "Δ 95% CI seeds", "Δ 95% CI images", "Δ excludes 0")
NOTE = ("mAP@0.50 on the real validation images of one attribute value (the row's AP method on that group "
        "of images, from the cached detections), the mean over the replicates (detector seeds), with 95% "
        "intervals over seeds (Student t; none with one replicate) and over the group's images (percentile "
        f"bootstrap). Δ vs {REFERENCE}: the paired difference in points on the same group, by seed and on the "
        "same resampled images; 'excludes 0': every interval of the difference lies on one side of zero. "
        "Small groups give wide intervals.")


@dataclass(frozen=True)
class GroupScore:
    """One row's mAP@0.5 on one group of images: per replicate, and its bootstrap over the group."""

    per_replicate: tuple[float, ...]
    resampled: np.ndarray  # replicate-mean AP per resample of the group's images

    @property
    def estimate(self) -> Estimate:
        return t_interval(self.per_replicate)

    @property
    def bootstrap(self) -> Estimate:
        return percentile_interval(self.resampled, self.estimate.mean)


def exported_stem(frame_name: str) -> str:
    """The stem a manifest frame's image has in the exported detector set and its COCO file (the
    data stage's `manifest.flat_stem`, which the report may not import; a test keeps them equal)."""
    return Path(frame_name).with_suffix("").as_posix().replace("/", "__")


def manifest_attributes(manifest: Path) -> dict[str, dict[str, str]]:
    """Exported image stem -> frame attributes, from a manifest CSV (its `name` and `attributes` columns)."""
    with manifest.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    if records and not {"name", "attributes"} <= set(records[0]):
        raise DataError(f"manifest {manifest} lacks a name or attributes column")
    return {exported_stem(r["name"]): json.loads(r["attributes"] or "{}") for r in records}


def attribute_groups(image_files: dict[int, str], attributes: dict[str, dict[str, str]], image_ids: Sequence[int],
                     keys: Sequence[str] = ATTRIBUTES) -> dict[tuple[str, str], np.ndarray]:
    """(attribute, value) -> 0/1 weights over `image_ids` (the order of ImageOutcomes.image_ids), in
    attribute order, values sorted. `image_files`: COCO image id -> file name."""
    frames = []
    for image_id in image_ids:
        stem = Path(image_files[image_id]).with_suffix("").as_posix()
        if stem not in attributes:
            raise DataError(f"validation image {image_files[image_id]} is not in the manifest")
        frames.append(attributes[stem])
    groups = {}
    for key in keys:
        values = [str(frame.get(key) or UNDEFINED) for frame in frames]
        for value in sorted(set(values)):
            groups[(key, value)] = np.array([v == value for v in values], float)
    return groups


def group_score(replicates: Sequence[ImageOutcomes], group: np.ndarray, resamples: int, seed: int) -> GroupScore:
    """AP@0.5 on the images with weight 1 in `group`, per replicate and per bootstrap resample of them."""
    members = np.flatnonzero(group)
    counts = np.zeros((resamples, len(group)))
    counts[:, members] = bootstrap_counts(len(members), resamples, seed)
    per_replicate = tuple(float(average_precision(outcomes, group[None])[0]) for outcomes in replicates)
    return GroupScore(per_replicate, bootstrap_map50(replicates, counts))


def paired_difference(mine: GroupScore, reference: GroupScore) -> tuple[Estimate | None, Estimate]:
    """Row minus reference on one group: by seed (when both have as many replicates) and by image."""
    by_seed = None
    if len(mine.per_replicate) == len(reference.per_replicate):
        by_seed = t_interval(np.subtract(mine.per_replicate, reference.per_replicate))
    point = mine.estimate.mean - reference.estimate.mean
    return by_seed, percentile_interval(mine.resampled - reference.resampled, point)


def _pct(value: float | None) -> str:
    return "" if value is None or not np.isfinite(value) else f"{100 * value:.2f}"


def _span(estimate: Estimate | None) -> str:
    return "" if estimate is None or estimate.low is None else f"[{_pct(estimate.low)}, {_pct(estimate.high)}]"


def table_row(key: tuple[str, str], group: np.ndarray, persons: int, condition: str, score: GroupScore,
              reference: GroupScore | None) -> tuple:
    """One line of the table: a row's score on a group and, for rows other than the reference, its difference."""
    cells = [*key, int(group.sum()), persons, condition, len(score.per_replicate)]
    if persons == 0:
        return (*cells, "no persons", *("",) * (len(COLUMNS) - len(cells) - 1))
    estimate = score.estimate
    cells += [_pct(estimate.mean), _span(estimate) or ("none (1 replicate)" if len(score.per_replicate) == 1 else ""),
              _span(score.bootstrap)]
    if reference is None:
        return (*cells, "", "", "", "")
    by_seed, by_image = paired_difference(score, reference)
    found = [e.excludes_zero for e in (by_seed, by_image) if e is not None and e.excludes_zero is not None]
    excludes = {True: "yes", False: "no"}[all(found)] if found else ""
    return (*cells, _pct(by_image.mean), _span(by_seed), _span(by_image), excludes)


def attribute_table(rows: Sequence[dict], coco_gt: dict, attributes: dict[str, dict[str, str]],
                    resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> list[tuple]:
    """The table's lines: per (attribute, value) group, every row in the given order."""
    outcomes = {}
    for row in rows:
        if not row.get("detections"):
            raise DataError(f"row {row['condition']} has no cached detections (rebuild it with table2-row)")
        outcomes[row["condition"]] = [
            ImageOutcomes.from_coco(coco_gt, json.loads(Path(path).read_text()), ap_method(row))
            for path in row["detections"]
        ]
    first = next(iter(outcomes.values()))[0]
    groups = attribute_groups({image["id"]: image["file_name"] for image in coco_gt["images"]}, attributes,
                              first.image_ids)
    lines = []
    for key, group in groups.items():
        persons = int(group @ first.n_gt)
        scores = {name: group_score(replicates, group, resamples, seed) for name, replicates in outcomes.items()}
        for name, score in scores.items():
            reference = scores.get(REFERENCE) if name != REFERENCE else None
            lines.append(table_row(key, group, persons, name, score, reference))
    return lines


def write_attribute_table(row_files: Sequence[Path], coco: Path, manifest: Path, csv_path: Path,
                          markdown_path: Path) -> list[tuple]:
    """Write the per-attribute table as CSV and Markdown; returns its lines (for an HTML twin)."""
    rows = [json.loads(path.read_text()) for path in row_files]
    lines = attribute_table(rows, json.loads(coco.read_text()), manifest_attributes(manifest))
    write_csv(csv_path, COLUMNS, lines)
    write_markdown_page(markdown_path, TITLE, NOTE, COLUMNS, lines)
    return lines

