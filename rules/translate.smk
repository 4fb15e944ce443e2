# Translation stage: the CG detector set through each run's CG->real generator (same names, labels).


rule translate_cg:
    input:
        generator=PATHS["cyclegan_generator"],
        card=PATHS["cyclegan_card"],
        source=PATHS["yolo"].format(dataset="cg"),
    output:
        directory(PATHS["translated"]),
    params:
        device=CYCLEGAN["device"],
        batch_size=config["translate"]["batch_size"],
    resources:
        mem_mb=4000,
    log:
        log_path("translate_cg", "{run}"),
    conda:
        "../envs/gan.yaml"
    shell:
        "python -m cg2real translate --generator {input.generator} --model-card {input.card}"
        " --source {input.source} --out {output} --batch-size {params.batch_size}"
        " --device {params.device} > {log} 2>&1"
