"""Per-domain summary of the filter: counts by reason and a histogram of person box heights."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)

from cg2real.data.manifest import ManifestRow  # noqa: E402
from cg2real.data.select import height_fraction, summarize_reasons  # noqa: E402


def summary_counts(rows: list[ManifestRow]) -> dict:
    """Frame and person counts of one domain, by filter outcome, and the smallest height fraction of
    a kept frame's largest person: the height threshold that keeps exactly these frames (with
    `data.filter.target_count`, the threshold found; otherwise at or above the configured one)."""
    kept = [r for r in rows if r.kept]
    return {
        "frames": len(rows),
        "kept": len(kept),
        "usable": sum(r.usable for r in rows),
        "dropped_by_reason": dict(sorted((k, v) for k, v in summarize_reasons(rows).items() if k != "kept")),
        "persons_in_kept_frames": sum(len(r.persons) for r in kept),
        # rounded down, so that the value as min_height_fraction keeps these frames again
        "kept_min_height_fraction": math.floor(min((height_fraction(r) for r in kept), default=0.0) * 1e6) / 1e6,
    }


def plot_box_heights(rows: list[ManifestRow], title: str, path: Path) -> None:
    """Histogram of person heights as a fraction of the frame height: all usable frames vs the largest
    person of kept frames, so the effect of the size threshold can be seen."""
    all_heights = [b.height / r.height for r in rows if r.usable for b in r.persons]
    kept_heights = [r.largest.height / r.height for r in rows if r.kept and r.largest]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    bins = [i / 40 for i in range(41)]
    ax.hist(all_heights, bins=bins, alpha=0.6, label=f"all persons ({len(all_heights)})")
    ax.hist(kept_heights, bins=bins, alpha=0.8, label=f"largest person, kept frames ({len(kept_heights)})")
    ax.set_xlabel("person box height / frame height")
    ax.set_ylabel("count")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_summary(rows: list[ManifestRow], domain: str, json_path: Path, plot_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({"domain": domain, **summary_counts(rows)}, indent=1))
    plot_box_heights(rows, domain, plot_path)
