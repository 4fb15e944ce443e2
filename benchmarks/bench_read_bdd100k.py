"""Peak memory and wall time of reading BDD100K labels: streamed `read_bdd100k` vs `json.load` of it all.

Generates (into a temporary folder, seed 0) a 2018-style combined label list and a folder of 2018
per-image label files with the same frames: a few boxes per frame (person, car, traffic sign/light,
rider, with occluded/truncated flags) and one or two poly2d areas/lanes, frame attributes weather,
scene, timeofday. Each reader then runs in a fresh subprocess, which reports its wall time, peak RSS
(VmHWM) and the RSS it still holds with the frames in hand (VmRSS after gc), printed as a table:

- `read_bdd100k`: this package's reader (streams a list file; reads per-image files one at a time);
- `json.load whole`: the old reader, `json.loads` of the whole text, then `parse_frame` per entry;
  for the folder, every file loaded into one list first, then parsed (the naive equivalent).

For `read_bdd100k` the peak equals the RSS held with the returned frames: reading needs nothing beyond
the Frame list. (For the old reader the RSS after reading stays near its peak: CPython keeps the
freed memory of the decoded dicts, so only the peak compares.)

    python benchmarks/bench_read_bdd100k.py [--frames 7000 70000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WEATHER = ["clear", "overcast", "partly cloudy", "rainy", "snowy", "foggy", "undefined"]
SCENE = ["city street", "highway", "residential", "parking lot", "tunnel", "gas stations"]
TIMEOFDAY = ["daytime", "night", "dawn/dusk", "undefined"]
BOX_CATEGORIES = ["person", "person", "car", "car", "car", "traffic sign", "traffic light", "rider", "truck"]
POLY_CATEGORIES = ["area/drivable", "area/alternative", "lane/single white", "lane/road curb", "lane/crosswalk"]


def generated_frame(rng: random.Random, i: int) -> tuple[dict, list[dict]]:
    """One frame's id-level fields and its objects, in the 2018 per-image object layout."""
    objects = []
    for k in range(rng.randint(2, 6)):
        x1, y1 = rng.uniform(0, 1200), rng.uniform(150, 600)
        category = rng.choice(BOX_CATEGORIES)
        objects.append(
            {
                "category": category,
                "id": k,
                "attributes": {
                    "occluded": rng.random() < 0.5,
                    "truncated": rng.random() < 0.1,
                    "trafficLightColor": "none",
                },
                "box2d": {
                    "x1": round(x1, 6),
                    "y1": round(y1, 6),
                    "x2": round(x1 + rng.uniform(8, 200), 6),
                    "y2": round(y1 + rng.uniform(15, 300), 6),
                },
            }
        )
    for k in range(len(objects), len(objects) + rng.randint(1, 2)):
        points = [
            [round(rng.uniform(0, 1280), 6), round(rng.uniform(300, 720), 6), "L"] for _ in range(rng.randint(4, 8))
        ]
        objects.append({"category": rng.choice(POLY_CATEGORIES), "id": k, "attributes": {}, "poly2d": points})
    head = {
        "name": f"{i:08x}-{rng.getrandbits(32):08x}",
        "attributes": {"weather": rng.choice(WEATHER), "scene": rng.choice(SCENE), "timeofday": rng.choice(TIMEOFDAY)},
    }
    return head, objects


def as_list_entry(head: dict, objects: list[dict]) -> dict:
    """The same frame as a combined-list entry (name with .jpg, `labels`, poly2d as vertices/types)."""
    labels = []
    for obj in objects:
        label = {k: v for k, v in obj.items() if k != "poly2d"}
        label["manualShape"] = label["manualAttributes"] = True
        if "poly2d" in obj:
            label["poly2d"] = [
                {
                    "vertices": [p[:2] for p in obj["poly2d"]],
                    "types": "L" * len(obj["poly2d"]),
                    "closed": obj["category"].startswith("area"),
                }
            ]
        labels.append(label)
    return {"name": head["name"] + ".jpg", "attributes": head["attributes"], "timestamp": 10000, "labels": labels}


def generate(root: Path, frames: int) -> tuple[Path, Path, Path]:
    """<root>/bdd100k_labels_images_train.json, <root>/100k/train/<id>.json, <root>/images (empty).

    Made once per root (a marker file records it); the images folder is empty: images are not opened.
    """
    combined, folder, images = root / "bdd100k_labels_images_train.json", root / "100k" / "train", root / "images"
    marker = root / "generated.json"
    if marker.exists() and json.loads(marker.read_text()) == {"frames": frames}:
        return combined, folder, images
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    images.mkdir(exist_ok=True)
    rng = random.Random(0)
    with combined.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for i in range(frames):
            head, objects = generated_frame(rng, i)
            out.write(("," if i else "") + json.dumps(as_list_entry(head, objects), indent=4) + "\n")
            per_image = {
                "name": head["name"],
                "frames": [{"timestamp": 10000, "objects": objects}],
                "attributes": head["attributes"],
            }
            (folder / f"{head['name']}.json").write_text(json.dumps(per_image, indent=4))
        out.write("]\n")
    marker.write_text(json.dumps({"frames": frames}))
    print(f"generated {frames} frames in {time.perf_counter() - started:.0f} s under {root}", flush=True)
    return combined, folder, images


def memory_mib() -> tuple[float, float]:
    """(peak RSS, current RSS) of this process in MiB, from /proc/self/status."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return fields["VmHWM"], fields["VmRSS"]


def child(reader: str, labels: Path, images: Path) -> None:
    """Run one reader in this (fresh) process and print its measurements as JSON."""
    from cg2real.data.bdd100k import parse_frame, read_bdd100k

    categories = ("person", "pedestrian")
    started = time.perf_counter()
    if reader == "imports only":
        frames = []
    elif reader == "read_bdd100k":
        frames = read_bdd100k(labels, images, categories)
    elif labels.is_file():  # the old reader: the whole text, then every entry decoded, then parsed
        content = json.loads(labels.read_text(encoding="utf-8"))
        frames = [parse_frame(entry, images, categories) for entry in content]
        del content
    else:
        content = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(labels.glob("*.json"))]
        frames = [parse_frame(entry, images, categories) for entry in content]
        del content
    wall = time.perf_counter() - started
    gc.collect()
    peak, held = memory_mib()
    persons = sum(len(f.persons) for f in frames)
    print(json.dumps({"wall": wall, "peak": peak, "held": held, "frames": len(frames), "persons": persons}))


def measure(reader: str, labels: Path, images: Path) -> dict:
    command = [sys.executable, __file__, "--child", reader, str(labels), str(images)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[7000, 70000])
    parser.add_argument("--workdir", type=Path, help="keep the generated labels here (reused); default: a temp folder")
    parser.add_argument("--child", nargs=3, metavar=("READER", "LABELS", "IMAGES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        rows = []
        base = measure("imports only", Path(tmp), Path(tmp))
        rows.append(("-", "-", "imports only", base, 0.0))
        for frames in args.frames:
            combined, folder, images = generate(workdir / f"frames-{frames}", frames)
            list_mib = combined.stat().st_size / 2**20
            folder_mib = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
            for layout, labels, size in (
                ("combined list", combined, list_mib),
                ("per-image folder", folder, folder_mib),
            ):
                for reader in ("read_bdd100k", "json.load whole"):
                    result = measure(reader, labels, images)
                    assert result["frames"] == frames, result
                    rows.append((f"{frames:,}", layout, reader, result, size))
                    print(f"  {frames} {layout} {reader}: {result}", flush=True)

    floor = base["peak"]
    print(f"\npython + imports only: peak RSS {floor:.0f} MiB; 'above imports' subtracts it")
    print(
        "| frames | layout (label MiB) | reader | wall s | frames/s | peak RSS MiB | peak above imports MiB "
        "| RSS after, frames held MiB | persons |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for frames, layout, reader, r, size in rows[1:]:
        rate = r["frames"] / r["wall"]
        print(
            f"| {frames} | {layout} ({size:.0f}) | {reader} | {r['wall']:.1f} | {rate:,.0f} | {r['peak']:.0f} | "
            f"{r['peak'] - floor:.0f} | {r['held']:.0f} | {r['persons']:,} |"
        )


if __name__ == "__main__":
    main()
