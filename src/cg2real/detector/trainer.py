"""ultralytics' detection trainer, extended to keep the checkpoint of the best validation mAP@0.5.

Import this module only after `configure_ultralytics_offline()`: it imports ultralytics. It is a
module of its own because ultralytics' multi-GPU mode re-imports the trainer class by name in each
DDP worker, so the class must live at module level.
"""

from __future__ import annotations

import json
import shutil

from ultralytics.models.yolo.detect import DetectionTrainer

from cg2real.detector.records import BEST_MAP50, BEST_MAP50_RECORD, MAP50_KEY


class BestMap50Trainer(DetectionTrainer):
    """Copies `last.pt` to `<run>/../best_map50.pt` whenever the epoch's mAP@0.5 beats the best so far.

    ultralytics' own `best.pt` follows its fitness (mAP@0.5:0.95 in this version); the paper
    reports the checkpoint with the highest mAP@0.5. The best value is kept in a small JSON file
    beside the checkpoint, so a resumed run keeps comparing against it.
    """

    def save_model(self) -> bool:
        saved = super().save_model()
        map50 = float((self.metrics or {}).get(MAP50_KEY, float("nan")))
        record = self.save_dir.parent / BEST_MAP50_RECORD
        best = json.loads(record.read_text())["map50"] if record.exists() else -1.0
        if saved and map50 > best:  # NaN never wins
            shutil.copyfile(self.last, self.save_dir.parent / BEST_MAP50)
            record.write_text(json.dumps({"epoch": self.epoch + 1, "map50": map50}))
        return saved
