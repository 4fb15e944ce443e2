"""Frame names become file names downstream (crops, YOLO sets, links), so each must be a safe
relative path and appear once: every reader's frames pass through here before the filter.

A name like `../val/x.jpg` or `/data/x.jpg` would place a frame outside its set (a validation
frame once reached a detector training set that way); a name listed twice would count its boxes
twice in the COCO ground truth. Such frames are dropped with a reason, never silently.
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath

from cg2real.boxes import Frame

UNSAFE_NAME = "unsafe_name"
DUPLICATE = "duplicate"


def unsafe_name_problem(name: str) -> str | None:
    """Why `name` is not a safe relative path (POSIX separators, sub-folders allowed), or None."""
    if not name or name != name.strip():
        return "empty, or blank at either end"
    if "\\" in name or any(ord(c) < 32 for c in name):
        return "holds a backslash or a control character"
    path = PurePosixPath(name)
    if path.is_absolute() or ":" in path.parts[0]:
        return "absolute"
    if any(part in ("..", ".") for part in name.split("/")) or "" in name.split("/"):
        return "holds '.', '..' or an empty path component"
    return None


def drop_unsafe_and_duplicate_names(frames: list[Frame], source: str) -> list[Frame]:
    """The frames, with `problem` set on unsafe names and on every repeat of a name (the first
    occurrence keeps its boxes). `source` names the label file(s) in the detail."""
    seen: dict[str, int] = {}
    checked = []
    for index, frame in enumerate(frames):
        if frame.problem:
            checked.append(frame)
            continue
        why = unsafe_name_problem(frame.name)
        if why:
            frame = dataclasses.replace(
                frame, problem=UNSAFE_NAME, persons=(), detail=f"{source} frame {index}: name {frame.name!r} is {why}"
            )
        elif frame.name in seen:
            frame = dataclasses.replace(
                frame, problem=DUPLICATE, persons=(),
                detail=f"{source} frame {index}: name {frame.name!r} already given by frame {seen[frame.name]}",
            )
        else:
            seen[frame.name] = index
        checked.append(frame)
    return checked
