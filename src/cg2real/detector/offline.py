"""Keep ultralytics from reaching the network: the workflow runs where nothing can be downloaded.

ultralytics probes online services unless `YOLO_OFFLINE` is set, writes its settings to the home
folder unless `YOLO_CONFIG_DIR` points elsewhere, and downloads `Arial.ttf` for its plots and data
checks unless the font is already in its config folder (`$YOLO_CONFIG_DIR/Ultralytics/`). This
module sets all three; it must run before `ultralytics` is first imported, because ultralytics
reads the environment at import time.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

FONT_NAME = "Arial.ttf"


def local_font() -> Path:
    """A TrueType font that ships with matplotlib, to stand in for Arial."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def configure_ultralytics_offline(config_dir: Path) -> Path:
    """Set ultralytics' offline switches and place a local font; returns its settings folder."""
    if "ultralytics" in sys.modules:
        raise RuntimeError("configure_ultralytics_offline() must run before ultralytics is imported")
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir.resolve())
    settings_dir = config_dir.resolve() / "Ultralytics"  # ultralytics appends this to YOLO_CONFIG_DIR
    settings_dir.mkdir(parents=True, exist_ok=True)
    font = settings_dir / FONT_NAME
    if not font.exists():
        shutil.copyfile(local_font(), font)
    return settings_dir
