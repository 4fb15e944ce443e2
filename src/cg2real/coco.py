"""The COCO side of Table 2, spelled once: our ground truth's one category, Table 2's IoU threshold
and COCOeval's cap of 100 detections per image (used by `cg2real.scoring`'s coco_101 method).

A leaf: the data stage writes the ground truth, the detector scores against it, and the report
re-scores cached detections for its bootstrap, all with these same values.
"""

PERSON_CATEGORY_ID = 1  # the one category of the COCO ground truth (data/export.py writes it)
PERSON_CATEGORY = {"id": PERSON_CATEGORY_ID, "name": "person", "supercategory": "person"}
IOU_THRESHOLD = 0.5  # Table 2's matching threshold (mAP@0.50)
COCO_MAX_DETS = 100  # detections per image that COCOeval scores (darknet scores them all)
