"""Detector stage: ultralytics YOLOv3 person detector training and evaluation."""
