# Translation stage: the CG detector set through a run's CG->real generator, full or compact (same
# names, labels). The compact generator (paper 001) is pruned from the run's trained one.


rule compact_generator:
    input:
        generator=PATHS["cyclegan_generator"],
        card=PATHS["cyclegan_card"],
        cg=PATHS["crops"].format(dataset="cg"),
        real=PATHS["crops"].format(dataset="real_train"),
    output:
        generator=PATHS["compact_generator"],
        card=PATHS["compact_card"],
        report=PATHS["compact_report"],
        summary=PATHS["compact_summary"],
    params:
        run_dir=lambda wildcards, input: str(Path(input.generator).parent),
        out=lambda wildcards, output: str(Path(output.generator).parent),
        settings=section_json("compact"),
        device=CYCLEGAN["device"],
    threads: 1  # latency is measured on one thread (paper 001's measure)
    resources:
        **job_resources("compact_generator", gpus=device_gpus(CYCLEGAN["device"])),
    log:
        log_path("compact_generator", "{run}"),
    conda:
        "../envs/gan.yaml"
    shell:
        "python -m cg2real compact-generator --run-dir {params.run_dir} --crops-a {input.cg} --crops-b {input.real}"
        " --settings {params.settings:q} --device {params.device} --out {params.out} > {log} 2>&1"


rule translate_cg:
    input:
        unpack(translator_inputs),
        source=PATHS["yolo"].format(dataset="cg"),
    output:
        directory(PATHS["translated"]),
    params:
        device=CYCLEGAN["device"],
        batch_size=config["translate"]["batch_size"],
    resources:
        **job_resources("translate_cg", gpus=device_gpus(CYCLEGAN["device"])),
    log:
        log_path("translate_cg", "{run}", "{generator}"),
    conda:
        "../envs/gan.yaml"
    shell:
        "python -m cg2real translate --generator {input.generator} --model-card {input.card}"
        " --source {input.source} --out {output} --batch-size {params.batch_size}"
        " --device {params.device} > {log} 2>&1"
