"""ultralytics' own plots of each detector training, gathered where the Snakemake report finds them.

ultralytics draws them in its run folder when `detector.train.plots` is on (the paper config; the
demo turns them off to save time): the loss and metric curves per epoch (`results.png`), the
precision-recall curve of the final validation (`BoxPR_curve.png`; `PR_curve.png` in older
versions) and its confusion matrix. The report can only show declared outputs, and which plots
exist is known only after training, so they are copied into one folder per training,
`<out>/<condition>/r<replicate>/`, which the report's file patterns read; a training without
plots adds nothing (its folder stays empty) and a missing run folder is an error.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from cg2real.errors import DataError

log = logging.getLogger(__name__)

# name in the report -> file names ultralytics gives it, newest version first
PLOTS = {
    "results": ("results.png",),
    "PR_curve": ("BoxPR_curve.png", "PR_curve.png"),
    "confusion_matrix": ("confusion_matrix.png",),
}


def found_plots(run: Path) -> dict[str, Path]:
    """The plots of PLOTS present in ultralytics' run folder `run`, by report name."""
    found = {}
    for name, candidates in PLOTS.items():
        present = [run / candidate for candidate in candidates if (run / candidate).is_file()]
        if present:
            found[name] = present[0]
    return found


def gather_detector_plots(runs: dict[str, Path], out: Path) -> dict[str, list[str]]:
    """Copy each training's plots to `out/<training>/<name>.png`; returns the names copied per
    training (`runs`: training, e.g. "c/r0", -> its ultralytics run folder)."""
    out.mkdir(parents=True, exist_ok=True)
    copied = {}
    for training, run in runs.items():
        if not run.is_dir():
            raise DataError(f"ultralytics' run folder of detector training {training} not found: {run}")
        plots = found_plots(run)
        folder = out / training
        folder.mkdir(parents=True, exist_ok=True)
        for name, path in plots.items():
            shutil.copyfile(path, folder / f"{name}.png")
        copied[training] = sorted(plots)
        log.info("%s: %s", training, ", ".join(sorted(plots)) or "no plots (detector.train.plots is off)")
    return copied
