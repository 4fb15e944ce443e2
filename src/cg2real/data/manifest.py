"""The per-domain manifest: every frame, whether it was kept, why not, and its person boxes.

It is the one hand-over between the filter and the writers (crops, detector sets), so that a frame
dropped for a reason is recorded once and never silently vanishes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cg2real.boxes import Box
from cg2real.errors import DataError

COLUMNS = (
    "name", "image_path", "width", "height", "usable", "kept", "reason", "n_persons", "persons", "largest",
    "attributes", "person_attributes", "box_source", "detail",
)
# Columns added after the first manifests were written: read with these values when absent.
LATER_COLUMNS = {"person_attributes": "[]", "box_source": "", "detail": ""}


@dataclass(frozen=True)
class ManifestRow:
    """One frame of the manifest. `persons` are clipped to the image; `largest` is one of them."""

    name: str
    image_path: str
    width: int
    height: int
    usable: bool
    kept: bool
    reason: str
    persons: tuple[Box, ...]
    largest: Box | None
    attributes: dict[str, str]  # frame-level (BDD100K: weather, scene, timeofday)
    person_attributes: tuple[dict[str, bool | None], ...] = ()  # per person, as `persons`: occluded, truncated
    box_source: str = ""  # how the boxes were made (boxes.BOX_SOURCES)
    detail: str = ""  # for a dropped frame: where and what (file, entry index, value)


def _boxes_to_json(boxes: tuple[Box, ...]) -> str:
    return json.dumps([[round(v, 2) for v in (b.x1, b.y1, b.x2, b.y2)] for b in boxes])


def write_manifest(rows: list[ManifestRow], path: Path) -> None:
    table = pd.DataFrame(
        {
            "name": [r.name for r in rows],
            "image_path": [r.image_path for r in rows],
            "width": [r.width for r in rows],
            "height": [r.height for r in rows],
            "usable": [r.usable for r in rows],
            "kept": [r.kept for r in rows],
            "reason": [r.reason for r in rows],
            "n_persons": [len(r.persons) for r in rows],
            "persons": [_boxes_to_json(r.persons) for r in rows],
            "largest": [_boxes_to_json((r.largest,)) if r.largest else "[]" for r in rows],
            "attributes": [json.dumps(r.attributes, sort_keys=True) for r in rows],
            "person_attributes": [json.dumps(list(r.person_attributes)) for r in rows],
            "box_source": [r.box_source for r in rows],
            "detail": [r.detail for r in rows],
        },
        columns=list(COLUMNS),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)


def read_manifest(path: Path) -> list[ManifestRow]:
    """Rows of a manifest written by `write_manifest`; a DataError when it is not one."""
    try:
        table = pd.read_csv(path, keep_default_na=False, dtype={"name": str, "reason": str, "detail": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"cannot read manifest {path}: {err}") from err
    for column, value in LATER_COLUMNS.items():
        if column not in table.columns:
            table[column] = value
    missing = set(COLUMNS) - set(table.columns)
    if missing:
        raise DataError(f"manifest {path} lacks columns {sorted(missing)}")
    rows = []
    for rec in table.to_dict("records"):
        persons = tuple(Box(*b) for b in json.loads(rec["persons"]))
        largest = json.loads(rec["largest"])
        rows.append(
            ManifestRow(
                name=rec["name"],
                image_path=rec["image_path"],
                width=int(rec["width"]),
                height=int(rec["height"]),
                usable=bool(rec["usable"]),
                kept=bool(rec["kept"]),
                reason=rec["reason"],
                persons=persons,
                largest=Box(*largest[0]) if largest else None,
                attributes=json.loads(rec["attributes"]),
                person_attributes=tuple(json.loads(rec["person_attributes"])),
                box_source=rec["box_source"],
                detail=rec["detail"],
            )
        )
    return rows


def flat_stem(frame_name: str) -> str:
    """A file stem unique per frame: sub-folders (SYNTHIA-SEQS cameras) joined by '__', suffix dropped."""
    return Path(frame_name).with_suffix("").as_posix().replace("/", "__")
