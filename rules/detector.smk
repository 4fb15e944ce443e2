# Detector stage: per Table 2 condition, draw its training set, fine-tune YOLOv3 once per replicate
# (detector.replicates, seeds train.seed + r), score each on real val.
# ultralytics' run (last.pt, and the best epoch so far) lives beside the declared outputs, which are
# written only when training ends: a killed or stopped training resumes when rerun, losing no epoch.


rule detector_set:
    """A condition's detector training set: a seeded draw of real (+ CG) frames, as links."""
    input:
        unpack(detector_set_inputs),
    output:
        directory(PATHS["detector_set"]),
    log:
        log_path("detector_set", "{condition}"),
    benchmark:
        benchmark_path("detector_set", "{condition}")
    conda:
        "../envs/detector.yaml"
    resources:
        **job_resources("detector_set"),
    params:
        cg=optional_input("cg"),
        settings=plan_json(plan.detector_set_settings, "condition"),
    shell:
        "python -m cg2real detector-set --real {input.real:q} --cg={params.cg:q} --val {input.val:q}"
        " --settings {params.settings:q} --out {output:q} > {log:q} 2>&1"


rule train_detector:
    """Train one replicate of a condition's YOLOv3 person detector with ultralytics (resumable)."""
    input:
        PATHS["detector_set"],
    output:
        weights=PATHS["detector_weights"],
        summary=PATHS["detector_summary"],
    log:
        log_path("train_detector", "{condition}", "r{replicate}"),
    benchmark:
        benchmark_path("train_detector", "{condition}", "r{replicate}")
    conda:
        "../envs/detector.yaml"
    threads: plan.detector_threads(config)
    resources:
        **job_resources("train_detector", gpus=setting("detector", "device")),
    params:
        out=output_folder("weights"),
        settings=plan_json(plan.replicate_train_settings, "replicate"),
        device=setting("detector", "device"),
    shell:
        "python -m cg2real train-detector --data {input:q} --settings {params.settings:q}"
        " --device {params.device} --out {params.out:q} > {log:q} 2>&1"


rule evaluate_detector:
    """Score one replicate's detector on the real validation split: TP/FP/FN, P, R, F1, mAP@0.5."""
    input:
        weights=PATHS["detector_weights"],
        data=PATHS["detector_set"],
        coco=PATHS["coco"].format(dataset="real_val"),
    output:
        row=PATHS["replicate_row"],
        detections=PATHS["replicate_detections"],
    log:
        log_path("evaluate_detector", "{condition}", "r{replicate}"),
    benchmark:
        benchmark_path("evaluate_detector", "{condition}", "r{replicate}")
    conda:
        "../envs/detector.yaml"
    resources:
        **job_resources(
            "evaluate_detector",
            gpus=min(1, device_gpus(setting("detector", "device"))),
        ),
    params:
        settings=settings("detector", "evaluate"),
        imgsz=setting("detector", "train", "imgsz"),
        device=setting("detector", "device"),
        provenance=plan_json(plan.condition_provenance, "condition"),
    shell:
        "python -m cg2real evaluate-detector --condition {wildcards.condition} --weights {input.weights:q}"
        " --data {input.data:q} --coco {input.coco:q} --settings {params.settings:q} --imgsz {params.imgsz}"
        " --device {params.device} --provenance {params.provenance:q} --replicate {wildcards.replicate}"
        " --detections {output.detections:q} --out {output.row:q} > {log:q} 2>&1"
