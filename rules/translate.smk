# Translation stage: the CG detector set through a run's CG->real generator, full or compact (same
# file names and labels, so raw and translated conditions draw the very same frames).


rule translate:
    """Translate the CG detector set with a run's generator, full or compact (same names and labels)."""
    input:
        unpack(translator_inputs),
        source=PATHS["yolo"].format(dataset="cg"),
    output:
        directory(PATHS["translated"]),
    log:
        log_path("translate", "{run}", "{generator}"),
    benchmark:
        benchmark_path("translate", "{run}", "{generator}")
    conda:
        "../envs/gan.yaml"
    resources:
        **job_resources("translate", gpus=setting("translate", "device")),
    params:
        settings=settings("translate"),
    shell:
        "python -m cg2real translate --generator {input.generator:q} --model-card {input.card:q}"
        " --source {input.source:q} --settings {params.settings:q} --out {output:q} > {log:q} 2>&1"
