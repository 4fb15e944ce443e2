"""File names of a detector run folder, shared by the training loop, its trainer class and the
workflow's path table (which imports this at parse time: no imports here)."""

BEST_MAP50 = "best_map50.pt"  # checkpoint with the best validation mAP@0.5: the one Table 2 reports
# (the declared output; during training it is kept as ultralytics/weights/best_map50.pt, whose own
# epoch and metrics are its record: train_summary.json repeats them under "best")
TRAIN_SUMMARY = "train_summary.json"  # what the training did: epochs, best epoch and mAP@0.5, settings
CONDITION_SET = "data"  # the condition's drawn training set (cg2real.detector.dataset)
DATA_YAML = "data.yaml"  # in CONDITION_SET: ultralytics' description of the set
ULTRALYTICS_RUN = "ultralytics"  # ultralytics' own run folder (weights/, results.csv, plots)
MAP50_KEY = "metrics/mAP50(B)"  # ultralytics' name of the validation mAP@0.5
