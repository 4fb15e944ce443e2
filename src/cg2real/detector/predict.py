"""Run a trained ultralytics checkpoint over the evaluation images and keep its boxes as COCO results.

Separate from `evaluate` because it needs ultralytics (and its offline set-up before the first
import), while scoring predictions needs only numpy (`cg2real.scoring`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tqdm import tqdm

from cg2real.coco import PERSON_CATEGORY_ID
from cg2real.detector.offline import configure_ultralytics_offline
from cg2real.images import PERSON_CLASS


def ensure_offline_ultralytics(config_dir: Path) -> None:
    """Configure ultralytics offline unless this process already did before importing it.

    A process that imported ultralytics without the offline switches would try to download fonts
    and check for updates, so that case is an error rather than something to work around.
    """
    if "ultralytics" not in sys.modules:
        configure_ultralytics_offline(config_dir)
    elif os.environ.get("YOLO_OFFLINE") != "1":
        raise RuntimeError("ultralytics was imported before configure_ultralytics_offline()")


def image_paths(images_dir: Path, coco_gt: dict) -> list[Path]:
    """Path of every ground-truth image; a missing image stops the evaluation."""
    paths = [images_dir / image["file_name"] for image in coco_gt["images"]]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} ground-truth images are not in {images_dir}, e.g. {missing[0]}")
    return paths


def predict_coco(
    weights: Path,
    images_dir: Path,
    coco_gt: dict,
    imgsz: int,
    conf: float,
    iou: float,
    device: str | None,
    batch: int,
    config_dir: Path,
    max_det: int = 300,
) -> list[dict]:
    """Person detections on the ground truth's images, as COCO results with the ground truth's ids.

    `conf` should be low (e.g. 0.001) so mAP sees the whole precision-recall curve; `iou` is the
    NMS threshold; `device` as ultralytics takes it ("cpu", "0"; None lets it choose). Boxes are
    in pixels of the original image. An image whose size differs from the one the ground truth
    records is refused, since its boxes would be compared in the wrong frame.
    """
    paths = image_paths(images_dir, coco_gt)
    ensure_offline_ultralytics(config_dir)
    from ultralytics import YOLO

    images = {image["file_name"]: image for image in coco_gt["images"]}
    results = YOLO(str(weights)).predict(
        source=[str(p) for p in paths],
        imgsz=imgsz,
        conf=conf,
        iou=iou,
        device=device,
        batch=batch,
        max_det=max_det,
        classes=[PERSON_CLASS],
        stream=True,
        verbose=False,
    )
    detections, seen = [], set()
    for result in tqdm(results, total=len(paths), desc="predict", unit="img", mininterval=5):
        image = images[Path(result.path).name]
        if tuple(result.orig_shape) != (image["height"], image["width"]):
            raise ValueError(f"{result.path} is {result.orig_shape} (h, w); the ground truth says {image}")
        seen.add(image["id"])
        detections.extend(coco_results(image["id"], result.boxes.xyxy.tolist(), result.boxes.conf.tolist()))
    if len(seen) != len(images):
        raise RuntimeError(f"ultralytics read {len(seen)} of {len(images)} images (unsupported formats are skipped)")
    return detections


def coco_results(image_id: int, xyxy: list[list[float]], scores: list[float]) -> list[dict]:
    """COCO result entries (`bbox` as x, y, width, height in pixels) for one image's boxes."""
    return [
        {
            "image_id": image_id,
            "category_id": PERSON_CATEGORY_ID,
            "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
            "score": float(score),
        }
        for (x1, y1, x2, y2), score in zip(xyxy, scores)
    ]
