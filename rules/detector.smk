# Detector stage: per Table 2 condition, draw its training set, fine-tune YOLOv3, score it on real val.
# ultralytics' last.pt lives beside the declared outputs, so a killed training resumes when rerun.


rule detector_set:
    input:
        unpack(detector_set_inputs),
    output:
        directory(PATHS["detector_set"]),
    params:
        real_count=lambda wildcards: CONDITIONS[wildcards.condition]["real"],
        cg_args=detector_set_cg_args,
        seed=DETECTOR["sample_seed"],
    resources:
        **job_resources("detector_set"),
    log:
        log_path("detector_set", "{condition}"),
    conda:
        "../envs/detector.yaml"
    shell:
        "python -m cg2real detector-set --real {input.real} --real-count {params.real_count} {params.cg_args}"
        " --val {input.val} --seed {params.seed} --out {output} > {log} 2>&1"


rule train_detector:
    input:
        PATHS["detector_set"],
    output:
        weights=PATHS["detector_weights"],
        summary=PATHS["detector_summary"],
    params:
        data=lambda wildcards, input: f"{input[0]}/data.yaml",
        out=lambda wildcards, output: str(Path(output.weights).parent),
        settings=section_json("detector", "train"),
        device=DETECTOR["device"],
    threads: 2
    resources:
        **job_resources("train_detector", gpus=device_gpus(DETECTOR["device"])),
    log:
        log_path("train_detector", "{condition}"),
    conda:
        "../envs/detector.yaml"
    shell:
        "python -m cg2real train-detector --data {params.data} --settings {params.settings:q}"
        " --device {params.device} --out {params.out} > {log} 2>&1"


rule evaluate_detector:
    input:
        weights=PATHS["detector_weights"],
        data=PATHS["detector_set"],
        coco=PATHS["coco"].format(dataset="real_val"),
    output:
        PATHS["table2_row"],
    params:
        settings=section_json("detector", "evaluate"),
        imgsz=DETECTOR["train"]["imgsz"],
        device=DETECTOR["device"],
        provenance=condition_provenance_json,
    resources:
        **job_resources("evaluate_detector", gpus=min(1, device_gpus(DETECTOR["device"]))),
    log:
        log_path("evaluate_detector", "{condition}"),
    conda:
        "../envs/detector.yaml"
    shell:
        "python -m cg2real evaluate-detector --condition {wildcards.condition} --weights {input.weights}"
        " --data {input.data} --coco {input.coco} --settings {params.settings:q} --imgsz {params.imgsz}"
        " --device {params.device} --provenance {params.provenance:q} --out {output} > {log} 2>&1"
