"""File names of a detector run folder, shared by the training loop and its trainer class."""

BEST_MAP50 = "best_map50.pt"  # checkpoint with the best validation mAP@0.5: the one Table 2 reports
BEST_MAP50_RECORD = "best_map50.json"  # its epoch and mAP@0.5, read back on resume
MAP50_KEY = "metrics/mAP50(B)"  # ultralytics' name of the validation mAP@0.5
