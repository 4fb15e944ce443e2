# Data stage: demo sets -> read + filter (manifests) -> person-centred crops, detector sets, summaries.


rule make_demo_data:
    output:
        train_labels=PATHS["demo_bdd100k_labels"].format(split="train"),
        val_labels=PATHS["demo_bdd100k_labels"].format(split="val"),
        train_images=directory(PATHS["demo_bdd100k_images"].format(split="train")),
        val_images=directory(PATHS["demo_bdd100k_images"].format(split="val")),
        synthia=directory(PATHS["demo_synthia"]),
    params:
        out=demo_root,
        settings=section_json("data", "demo"),
    resources:
        **job_resources("make_demo_data"),
    log:
        log_path("make_demo_data"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m cg2real demo-data --out {params.out} --settings {params.settings:q} > {log} 2>&1"


rule select_bdd100k:
    input:
        unpack(bdd100k_inputs),
    output:
        PATHS["manifest"].format(dataset="real_{split}"),
    params:
        categories=DATA["bdd100k"]["person_categories"],
        filter=section_json("data", "filter"),
    threads: DATA["workers"]
    resources:
        **job_resources("select_bdd100k"),
    log:
        log_path("select_bdd100k", "{split}"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m cg2real select-bdd100k --labels {input.labels} --images {input.images}"
        " --person-categories {params.categories:q} --filter {params.filter:q}"
        " --out {output} --workers {threads} > {log} 2>&1"


rule select_synthia:
    input:
        unpack(synthia_inputs),
    output:
        PATHS["manifest"].format(dataset="cg"),
    params:
        layout=DATA["synthia"]["layout"],
        box_file=synthia_box_file_arg,
        classes=DATA["synthia"]["person_classes"],
        min_pixels=DATA["synthia"]["min_component_pixels"],
        filter=section_json("data", "filter"),
    threads: DATA["workers"]
    resources:
        **job_resources("select_synthia"),
    log:
        log_path("select_synthia"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m cg2real select-synthia --root {input.root} --layout {params.layout} {params.box_file}"
        " --person-classes {params.classes} --min-component-pixels {params.min_pixels}"
        " --filter {params.filter:q} --out {output} --workers {threads} > {log} 2>&1"


rule crop_persons:
    input:
        PATHS["manifest"],
    output:
        directory(PATHS["crops"]),
    params:
        settings=section_json("data", "crop"),
    threads: DATA["workers"]
    resources:
        **job_resources("crop_persons"),
    log:
        log_path("crop_persons", "{dataset}"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m cg2real crop --manifest {input} --out {output} --settings {params.settings:q}"
        " --workers {threads} > {log} 2>&1"


rule export_detector_set:
    input:
        PATHS["manifest"],
    output:
        yolo=directory(PATHS["yolo"]),
        coco=PATHS["coco"],
    params:
        frames=export_frames,
        link_mode=DATA["export"]["link_mode"],
    resources:
        **job_resources("export_detector_set"),
    log:
        log_path("export_detector_set", "{dataset}"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m cg2real export-yolo --manifest {input} --out {output.yolo} --frames {params.frames}"
        " --link-mode {params.link_mode} --coco {output.coco} > {log} 2>&1"


rule summarize_data:
    input:
        PATHS["manifest"],
    output:
        summary=PATHS["summary"],
        plot=report(PATHS["box_heights"], caption="../report/box_heights.rst", category="Data"),
    resources:
        **job_resources("summarize_data"),
    log:
        log_path("summarize_data", "{dataset}"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m cg2real summarize --manifest {input} --domain {wildcards.dataset}"
        " --json {output.summary} --plot {output.plot} > {log} 2>&1"
