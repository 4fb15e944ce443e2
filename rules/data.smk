# Data stage: demo sets -> read + filter (manifests) -> person-centred crops, detector sets, summaries.


rule demo_data:
    """Synthetic demo data in the layouts of BDD100K 2018 and SYNTHIA-RAND-CVPR16 (data.source: demo)."""
    output:
        train_labels=PATHS["demo_bdd100k_labels"].format(split="train"),
        val_labels=PATHS["demo_bdd100k_labels"].format(split="val"),
        train_images=directory(PATHS["demo_bdd100k_images"].format(split="train")),
        val_images=directory(PATHS["demo_bdd100k_images"].format(split="val")),
        synthia=directory(PATHS["demo_synthia"]),
    log:
        log_path("demo_data"),
    benchmark:
        benchmark_path("demo_data")
    conda:
        "../envs/data.yaml"
    resources:
        **job_resources("demo_data"),
    params:
        out=output_folder("synthia"),
        settings=settings("data", "demo"),
    shell:
        "python -m cg2real demo-data --out {params.out:q} --settings {params.settings:q} > {log:q} 2>&1"


rule select_bdd100k:
    """Read a BDD100K split and filter its frames: a manifest of every frame, kept or dropped and why."""
    input:
        unpack(bdd100k_inputs),
    output:
        PATHS["manifest"].format(dataset="real_{split}"),
    log:
        log_path("select_bdd100k", "{split}"),
    benchmark:
        benchmark_path("select_bdd100k", "{split}")
    conda:
        "../envs/data.yaml"
    threads: setting("data", "workers")
    resources:
        **job_resources("select_bdd100k"),
    params:
        settings=settings(
            "data",
            "bdd100k",
            without=("train_images", "train_labels", "val_images", "val_labels"),
        ),
        filter=settings("data", "filter", without=("target_count",)),
        target_counts=settings("data", "filter", "target_count"),
        copy_on_failure=log_path("select_bdd100k", "{split}", suffix=".manifest.csv"),
    shell:
        "python -m cg2real select-bdd100k --labels {input.labels:q} --images {input.images:q}"
        " --settings {params.settings:q} --filter {params.filter:q} --out {output:q} --workers {threads}"
        " --dataset real_{wildcards.split} --target-counts {params.target_counts:q}"
        " --copy-on-failure {params.copy_on_failure:q} > {log:q} 2>&1"


rule select_synthia:
    """Read SYNTHIA, person boxes from its class grids, and filter: a manifest of every frame."""
    input:
        unpack(synthia_inputs),
    output:
        PATHS["manifest"].format(dataset="cg"),
    log:
        log_path("select_synthia"),
    benchmark:
        benchmark_path("select_synthia")
    conda:
        "../envs/data.yaml"
    threads: setting("data", "workers")
    resources:
        **job_resources("select_synthia"),
    params:
        box_file=optional_input("box_file"),
        settings=settings("data", "synthia", without=("root", "box_file")),
        filter=settings("data", "filter", without=("target_count",)),
        target_counts=settings("data", "filter", "target_count"),
        copy_on_failure=log_path("select_synthia", suffix=".manifest.csv"),
    shell:
        "python -m cg2real select-synthia --root {input.root:q} --box-file={params.box_file:q}"
        " --settings {params.settings:q} --filter {params.filter:q} --out {output:q} --workers {threads}"
        " --dataset cg --target-counts {params.target_counts:q}"
        " --copy-on-failure {params.copy_on_failure:q} > {log:q} 2>&1"


rule crop_persons:
    """Square crops centred on each kept frame's largest person: CycleGAN's domains A (CG) and B (real)."""
    input:
        PATHS["manifest"],
    output:
        directory(PATHS["crops"]),
    log:
        log_path("crop_persons", "{dataset}"),
    benchmark:
        benchmark_path("crop_persons", "{dataset}")
    conda:
        "../envs/data.yaml"
    threads: setting("data", "workers")
    resources:
        **job_resources("crop_persons"),
    params:
        settings=settings("data", "crop"),
    shell:
        "python -m cg2real crop-persons --manifest {input:q} --out {output:q} --settings {params.settings:q}"
        " --workers {threads} > {log:q} 2>&1"


rule export_detector_set:
    """A set's kept frames as an ultralytics YOLO set (class person) and COCO ground truth."""
    input:
        PATHS["manifest"],
    output:
        yolo=directory(PATHS["yolo"]),
        coco=PATHS["coco"],
    log:
        log_path("export_detector_set", "{dataset}"),
    benchmark:
        benchmark_path("export_detector_set", "{dataset}")
    conda:
        "../envs/data.yaml"
    resources:
        **job_resources("export_detector_set"),
    params:
        frames=export_frames,
        settings=settings("data", "export", without=("val_frames",)),
    shell:
        "python -m cg2real export-detector-set --manifest {input:q} --out {output.yolo:q} --frames {params.frames}"
        " --settings {params.settings:q} --coco {output.coco:q} > {log:q} 2>&1"


rule summarize_data:
    """Counts per filter reason and the person box heights of a set (figure in the report)."""
    input:
        PATHS["manifest"],
    output:
        summary=PATHS["summary"],
        plot=report(PATHS["box_heights"], caption="../report/box_heights.rst", category="Data"),
    log:
        log_path("summarize_data", "{dataset}"),
    benchmark:
        benchmark_path("summarize_data", "{dataset}")
    conda:
        "../envs/data.yaml"
    resources:
        **job_resources("summarize_data"),
    shell:
        "python -m cg2real summarize-data --manifest {input:q} --domain {wildcards.dataset}"
        " --json {output.summary:q} --plot {output.plot:q} > {log:q} 2>&1"
