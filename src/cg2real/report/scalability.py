"""CycleGAN scalability (paper 000, figure 4): speed-up and efficiency of the runs of one training.

Speed-up here is throughput-based: images per second over all processes, relative to the run with
the fewest processes. The paper measured wall time for the same 200 epochs; with its sharding
(every epoch is `scale x D` images in all, whatever the process count) the two ratios are the same,
and throughput stays comparable when our runs train for different numbers of epochs.

Which runs form the curve is the workflow's plan (`cg2real.workflow.scaling_runs`).
"""

from __future__ import annotations

import csv
from pathlib import Path

from cg2real.errors import DataError
from cg2real.report.tables import write_markdown_page

# Paper 000, section 4.2: (GPUs, hours for 200 epochs, speed-up over 4 GPUs as published). The text
# gives only these two points (figure 4's others are not given as numbers). 93.8x is the paper's own
# ratio: 68.77 / 0.73 = 94.2 because 0.73 h ("about 44 minutes") is rounded.
PAPER_POINTS = ((4, 68.77, 1.0), (512, 0.73, 93.8))
PAPER_SOURCE = "paper 000"
COLUMNS = ("source", "run", "processes", "images_per_s", "speed_up", "efficiency", "wall_h")
TITLE = "CycleGAN scalability"
HEADER = ("source", "run", "processes", "images/s", "speed-up", "efficiency", "wall h")  # of the shown tables
NOTE = ("Speed-up = throughput (images/s over all processes) / the smallest run's; efficiency = speed-up / "
        "(processes / smallest processes). Wall hours: epoch time summed (start-up and checkpoints excluded). "
        "Paper 000 rows: 200 epochs on ABCI V100s, speed-up over its 4-GPU time as published.")


def run_timing(metrics_csv: Path) -> dict:
    """Processes, epochs, summed epoch wall time and throughput of one CycleGAN run, from its metrics.csv.

    Throughput is all images over all epoch time, not the mean of the per-epoch rates: a slow epoch
    then weighs by the time it took, as it does in a wall-time speed-up.
    """
    with metrics_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise DataError(f"{metrics_csv} has no epochs")
    wall = sum(float(r["wall_s"]) for r in rows)
    images = sum(float(r["images_per_s"]) * float(r["wall_s"]) for r in rows)
    return {
        "processes": int(rows[-1]["processes"]) * int(rows[-1]["simulated_processes"]),
        "epochs": len(rows),
        "wall_s": wall,
        "images_per_s": images / wall,
    }


def scalability_rows(metrics: dict[str, Path], with_paper: bool) -> list[dict]:
    """One row per run (ordered by processes), then the paper's when asked.

    speed_up = throughput / the smallest run's; efficiency = speed_up / (processes / smallest
    processes), 1.0 being linear scaling. The paper's rows are relative to its 4-GPU run.
    """
    timings = sorted(({"run": name, **run_timing(path)} for name, path in metrics.items()), key=lambda t: t["processes"])
    if not timings:
        raise DataError("no CycleGAN runs to compare")
    base = timings[0]
    rows = []
    for t in timings:
        speed_up = t["images_per_s"] / base["images_per_s"]
        rows.append({"source": "this workflow", "run": t["run"], "processes": t["processes"],
                     "images_per_s": t["images_per_s"], "speed_up": speed_up,
                     "efficiency": speed_up * base["processes"] / t["processes"], "wall_h": t["wall_s"] / 3600})
    if with_paper:
        base_gpus = PAPER_POINTS[0][0]
        rows += [{"source": PAPER_SOURCE, "run": f"{gpus} GPUs", "processes": gpus, "images_per_s": None,
                  "speed_up": speed_up, "efficiency": speed_up * base_gpus / gpus, "wall_h": hours}
                 for gpus, hours, speed_up in PAPER_POINTS]
    return rows


def table_cells(row: dict) -> list[str]:
    """A row as the cells of the shown tables (Markdown, HTML); the paper gives no throughput."""
    rate = "" if row["images_per_s"] is None else f"{row['images_per_s']:.2f}"
    return [row["source"], row["run"], str(row["processes"]), rate, f"{row['speed_up']:.2f}x",
            f"{100 * row['efficiency']:.1f}%", f"{row['wall_h']:.4g}"]


def write_scalability_table(rows: list[dict], csv_path: Path, markdown_path: Path) -> None:
    """The rows as CSV (raw numbers) and as a Markdown table with a note on how they were computed."""
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    write_markdown_page(markdown_path, TITLE, NOTE, HEADER, [table_cells(row) for row in rows])
