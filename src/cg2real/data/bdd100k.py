"""Reader for BDD100K detection labels, in every layout the data set has shipped.

`data.bdd100k.train_labels` / `val_labels` name a label FILE or a FOLDER; the layout is detected
from the content, never configured. Each layout, what it looks like, and what to point the key at:

- 2018 combined list: a JSON list of frames `{"name": "<id>.jpg", "attributes": {...}, "labels":
  [{"category": "person", "box2d": {...}, "attributes": {...}}]}`. Point at
  `bdd100k/labels/bdd100k_labels_images_train.json` (`..._val.json`).
- 2018 per-image files: one `<id>.json` per image, `{"name": "<id>", "frames": [{"timestamp": ...,
  "objects": [...]}], "attributes": {...}}` (`objects` instead of `labels`, `name` without `.jpg`).
  Point at the folder `bdd100k/labels/100k/train` (`.../val`); a single such file also works.
- 2020 `det_20` list: as the combined list, with category `pedestrian` and string ids. Point at
  `bdd100k/labels/det_20/det_train.json` (`det_val.json`).
- Scalabel frames: a list of frames with `videoName` and `frameIndex` (the 2020 MOT release:
  `video_name`, `index`), or an object `{"frames": [...], "config": ...}`. Point at the file; for
  `box_track_20` (one list file per video) at the split's folder, e.g. `labels/box_track_20/train`.

Frame-level attributes (weather, scene, timeofday) and the box attributes occluded and truncated
(keys matched without regard to case: `Occluded` in the 2020 MOT release) go into each Frame. A
`"labels": null` (or `"objects": null`) frame has no labels. Boxless objects (`poly2d` areas, lanes, a
person drawn as a polygon only, `"box2d": null`) are skipped. A per-image file's `name` has no
suffix: the image is `<id>.jpg` (or `.jpeg`/`.png`, whichever exists in the image folder, `.jpg` first).

A folder is read file by file (`*.json` directly in it, sorted by name, hidden files skipped, no
subfolders), each file's layout detected on its own, so it may hold per-image files or several list
files (one per video). It must not hold both a train and a val list (`det_train.json` beside
`det_val.json`): a DataError then asks for one split. List files are streamed (`json_stream`): memory
does not grow with the number of frames beyond the returned Frame list (benchmarks/RESULTS.md).

A file that is no known layout is a DataError naming the file, the layouts tried and what each
expects. An unusable entry becomes a Frame with `problem` set (`malformed_label`, `malformed_box`)
and `detail` saying where (label file, entry index, label index) and what (the offending value).

The genuine samples in tests/fixtures/bdd100k test the Scalabel/MOT list layouts and the 2018
per-image layout; no genuine excerpt of a 2018 combined list or a det_20 file exists in a public
repository, so those (same frame dicts as the Scalabel lists) are tested on generated files.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cg2real.boxes import Box, Frame, Person
from cg2real.data.json_stream import ArrayStream, JSONStreamError
from cg2real.errors import DataError
from cg2real.images import IMAGE_SUFFIXES

FRAME_ATTRIBUTES = ("weather", "scene", "timeofday")
BOX_KEYS = ("x1", "y1", "x2", "y2")

# What each layout looks like, for the error on a file that is none of them.
LAYOUTS = {
    "2018 combined list (bdd100k_labels_images_{train,val}.json)": (
        'a JSON list of frames {"name": "<id>.jpg", "labels": [{"category": "person", "box2d": {...}}], '
        '"attributes": {...}}'
    ),
    "2020 det_20 list (det_train.json, det_val.json)": (
        'a JSON list of frames {"name": "<id>.jpg", "labels": [{"id": "...", "category": "pedestrian", '
        '"box2d": {...}}]}'
    ),
    "Scalabel frames (incl. MOT box_track_20)": (
        'a JSON list of frames {"name", "videoName"/"video_name", "frameIndex"/"index", "labels"}, '
        'or an object {"frames": [...]}'
    ),
    "2018 per-image file (labels/100k/{train,val}/<id>.json)": (
        'an object {"name": "<id>", "frames": [{"timestamp": ..., "objects": [...]}], "attributes": {...}}'
    ),
}
# Keys by which a list element is recognised as a frame of one of the layouts.
_FRAME_KEYS = frozenset({"name", "labels", "frames", "objects", "videoName", "video_name", "frameIndex", "index"})
# A list whose first this many elements hold no frame is not a label list.
_PROBE = 100
_SPLIT_WORD = re.compile(r"(?:^|[^a-z])(train|val)(?:[^a-z]|$)")


def _unknown_layout(path: Path, found: str) -> DataError:
    tried = "\n".join(f"  - {name}: {expects}" for name, expects in LAYOUTS.items())
    hint = ""
    if "annotations" in found:
        hint = "\nA COCO-format file (bdd100k's to_coco output) is not read: point at the BDD100K/Scalabel JSON."
    return DataError(
        f"BDD100K label file {path} matches no known layout: it holds {found}. Layouts tried:\n{tried}{hint}"
    )


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        keys = sorted(map(str, value))
        return f"a JSON object with keys {keys[:8]}{' ...' if len(keys) > 8 else ''}"
    if isinstance(value, list):
        return f"a JSON list of {len(value)} items"
    return f"a JSON {type(value).__name__} {value!r:.40}"


def _looks_like_frame(element: Any) -> bool:
    return isinstance(element, dict) and not _FRAME_KEYS.isdisjoint(element)


def iter_label_file(path: Path) -> Iterator[dict[str, Any]]:
    """The frame entries of one label file, streamed; a DataError for a file that is none of the layouts.

    A list file (combined, det_20, Scalabel, MOT) yields its elements (non-dicts included: parse_frame
    reports them); a Scalabel `{"frames": [...]}` object yields the frames; a 2018 per-image file yields
    itself, once. Errors: missing, empty, not UTF-8, not valid JSON (with line and column), no frames.
    """
    try:
        stream = ArrayStream(path, member="frames")
        yield from _entries(path, stream, iter(stream))
    except FileNotFoundError as err:
        raise DataError(f"BDD100K label file not found: {path}") from err
    except OSError as err:
        raise DataError(f"cannot read BDD100K label file {path}: {err}") from err
    except JSONStreamError as err:
        where = f"line {err.lineno} column {err.colno}"
        raise DataError(f"BDD100K label file is not valid JSON: {path} ({where}: {err.msg})") from err
    except UnicodeDecodeError as err:
        raise DataError(f"BDD100K label file is not UTF-8 text: {path} (byte {err.start}: {err.reason})") from err


_END: Any = object()  # what next() returns after the last element (a JSON null is None)


def _entries(path: Path, stream: ArrayStream, elements: Iterator[Any]) -> Iterator[dict[str, Any]]:
    first = next(elements, _END)
    if stream.top == "empty":
        raise DataError(f"BDD100K label file is empty: {path}")
    if stream.top == "value":
        raise _unknown_layout(path, _describe(stream.value))
    if stream.top == "object" and (
        "name" in stream.members or (isinstance(first, dict) and "objects" in first and "labels" not in first)
    ):
        # a 2018 per-image file: small, read whole (members after "frames", e.g. attributes, come last)
        frames = [] if first is _END else [first, *elements]
        entry = dict(stream.members)
        if stream.streamed:
            entry["frames"] = frames
        yield entry
        return
    if stream.top == "object" and not stream.streamed:
        if "frames" in stream.members:  # a "frames" that is not a list, and no name beside it
            raise _unknown_layout(path, f"an object whose 'frames' is {_describe(stream.members['frames'])}")
        raise _unknown_layout(path, _describe(stream.members))
    if first is _END:
        raise DataError(f"BDD100K label file holds no frames: {path}")
    # a list of frames (top-level, or a Scalabel object's "frames"): check that it is one, then stream
    probe = [first]
    while not _looks_like_frame(probe[-1]) and len(probe) < _PROBE:
        following = next(elements, _END)
        if following is _END:
            break
        probe.append(following)
    if not _looks_like_frame(probe[-1]):
        what = "a JSON list" if stream.top == "array" else "an object whose 'frames' list"
        raise _unknown_layout(
            path, f"{what} whose first {len(probe)} items are not frames (the first is {_describe(first)})"
        )
    yield from probe
    yield from elements


def load_label_file(path: Path) -> list[dict[str, Any]]:
    """The frame entries of one label file as a list (for small files: hand-made box files, tests).

    `read_bdd100k` streams instead; see `iter_label_file` for what is accepted and the errors.
    """
    return list(iter_label_file(path))


def _flag(attributes: dict[str, Any], key: str) -> bool | None:
    """A boolean label attribute looked up by case-insensitive key; None when absent or not a truth value."""
    for name, value in attributes.items():
        if isinstance(name, str) and name.lower() == key:
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            return None
    return None


def _number(value: Any) -> bool:
    """A finite JSON number (not a bool, NaN, Infinity, or an integer too large for a float)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _box_problem(box2d: Any) -> str | None:
    """Why a `box2d` value is not four finite numbers x1, y1, x2, y2; None when it is."""
    if not isinstance(box2d, dict):
        return f"'box2d' is {_describe(box2d)}, not an object"
    for key in BOX_KEYS:
        if key not in box2d:
            return f"'box2d' lacks '{key}'"
        if not _number(box2d[key]):
            return f"'box2d' {key} is {box2d[key]!r:.40}, not a finite number"
    return None


def _image_name(name: str, images_dir: Path) -> str:
    """A 2018 per-image `name` (no suffix) as the image's file name: the suffix that exists, .jpg first."""
    if Path(name).suffix.lower() in IMAGE_SUFFIXES:
        return name
    for suffix in IMAGE_SUFFIXES:
        try:
            if (images_dir / (name + suffix)).is_file():
                return name + suffix
        except (OSError, ValueError):  # a hostile name (NUL byte, too long): left to later checks
            break
    return name + IMAGE_SUFFIXES[0]


def parse_frame(
    entry: Any, images_dir: Path, person_categories: Iterable[str], source: str = "", index: int | None = None
) -> Frame:
    """Turn one frame entry into a Frame with its person boxes.

    `entry` is a frame of a list layout (`name`, `labels`) or a 2018 per-image file (`name` without
    suffix, `frames[0].objects`). `source` (the label file's name) and `index` (the entry's position in
    it) go into `detail` of a frame whose entry is unusable: it is returned with `problem` set, so the
    manifest records it. A nameless entry is named `<source>#<index>`.
    """
    where = f"{source or 'label file'}{'' if index is None else f' entry {index}'}"
    placeholder = f"{source or 'label file'}#{index}" if index is not None else "unnamed entry"

    def broken(problem: str, name: str, what: str) -> Frame:
        return Frame(name=name, image_path=images_dir / name, problem=problem, detail=f"{where}: {what}")

    if not isinstance(entry, dict):
        return broken("malformed_label", placeholder, f"the entry is {_describe(entry)}, not a frame object")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        return broken("malformed_label", placeholder, f"'name' is {name!r:.60}, not a file name")
    per_image = "labels" not in entry and "frames" in entry
    if per_image:
        name = _image_name(name, images_dir)
        frames = entry["frames"]
        if not isinstance(frames, list):
            return broken("malformed_label", name, f"'frames' is {_describe(frames)}, not a list")
        if len(frames) != 1 or not isinstance(frames[0], dict):
            what = f"'frames' holds {_describe(frames)}; a per-image file holds one frame object"
            return broken("malformed_label", name, what)
        labels, field = frames[0].get("objects"), "'frames'[0]['objects']"
    else:
        labels, field = entry.get("labels"), "'labels'"
    if labels is None:
        labels = []
    if not isinstance(labels, list):
        return broken("malformed_label", name, f"{field} is {_describe(labels)}, not a list")
    frame_attrs = entry.get("attributes")
    if frame_attrs is None:
        frame_attrs = {}
    if not isinstance(frame_attrs, dict):
        return broken("malformed_label", name, f"'attributes' is {_describe(frame_attrs)}, not an object")

    categories = person_categories if isinstance(person_categories, (set, frozenset)) else set(person_categories)
    persons: list[Person] = []
    for number, label in enumerate(labels):
        if not isinstance(label, dict):
            return broken("malformed_label", name, f"label {number} is {_describe(label)}, not an object")
        category = label.get("category")
        if not isinstance(category, str):
            return broken("malformed_label", name, f"label {number}: 'category' is {category!r:.40}, not a string")
        if category not in categories:
            continue
        box2d = label.get("box2d")
        if box2d is None:  # a person drawn as a polygon only: not a box annotation
            continue
        problem = _box_problem(box2d)
        if problem:
            return broken("malformed_box", name, f"label {number}: {problem}")
        attrs = label.get("attributes")
        attrs = attrs if isinstance(attrs, dict) else {}
        box = Box(*(float(box2d[k]) for k in BOX_KEYS))
        persons.append(Person(box, _flag(attrs, "occluded"), _flag(attrs, "truncated")))
    attributes = {
        key: sys.intern(str(frame_attrs[key])) for key in FRAME_ATTRIBUTES if frame_attrs.get(key) is not None
    }
    return Frame(name=name, image_path=images_dir / name, persons=tuple(persons), attributes=attributes)


def label_files(labels_path: Path) -> list[str]:
    """The names of the label files `labels_path` stands for (relative to it, when it is a folder):
    a file itself (""), or a folder's `*.json` files, sorted, hidden files (`._x.json`) left out.

    Names, not Paths: for a folder of 70,000 per-image files this list is a few MB.
    """
    if labels_path.is_file():
        return [""]
    if not labels_path.is_dir():
        raise DataError(
            f"BDD100K labels not found: {labels_path} (expected a label file, e.g. det_train.json, "
            "or a folder of per-image <id>.json files)"
        )
    names = sorted(n for n in os.listdir(labels_path) if n.lower().endswith(".json") and not n.startswith("."))
    if not names:
        subfolders = sorted(p.name for p in labels_path.iterdir() if p.is_dir())
        hint = f"; it has subfolders {subfolders[:5]}: point at one split's folder" if subfolders else ""
        raise DataError(f"BDD100K label folder {labels_path} holds no .json label files{hint}")
    splits = {m.group(1): n for n in names if (m := _SPLIT_WORD.search(n[:-5].lower()))}
    if len(splits) > 1:
        raise DataError(
            f"BDD100K label folder {labels_path} holds both a train and a val label file ({splits['train']}, "
            f"{splits['val']}): point data.bdd100k.train_labels/val_labels at one split's file or folder each"
        )
    return names


def iter_bdd100k(labels_path: Path, images_dir: Path, person_categories: Iterable[str]) -> Iterator[Frame]:
    """The frames of one split, read one at a time (see the module docstring for the layouts)."""
    categories = frozenset(person_categories)
    for name in label_files(labels_path):
        path = labels_path / name if name else labels_path
        for index, entry in enumerate(iter_label_file(path)):
            yield parse_frame(entry, images_dir, categories, source=path.name, index=index)


@dataclass(frozen=True)
class BDD100KSettings:
    """Reader settings of config section data.bdd100k (its paths arrive as the rule's inputs)."""

    person_categories: tuple[str, ...]


def read_bdd100k(labels_path: Path, images_dir: Path, person_categories: Iterable[str]) -> list[Frame]:
    """All frames of one BDD100K split with their person boxes (images are not opened here).

    `labels_path` is a label file or a folder of them (module docstring); files are streamed.
    """
    if not images_dir.is_dir():
        raise DataError(f"BDD100K image folder not found: {images_dir}")
    frames = list(iter_bdd100k(labels_path, images_dir, person_categories))
    if not frames:
        raise DataError(f"BDD100K labels {labels_path} hold no frames")
    return frames
