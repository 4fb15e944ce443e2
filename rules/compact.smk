# Compact generator stage (paper 001): a run's CG->real generator, pruned by its learned filter
# scales and retrained against the run's frozen discriminator; its cost report beside it.


rule compact_generator:
    """Prune a run's CG->real generator by its learned filter scales (paper 001), with a cost report."""
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
    log:
        log_path("compact_generator", "{run}"),
    benchmark:
        benchmark_path("compact_generator", "{run}")
    conda:
        "../envs/gan.yaml"
    threads: 1  # latency is measured on one thread (paper 001's measure)
    resources:
        **job_resources("compact_generator", gpus=setting("cyclegan", "device")),
    params:
        run_dir=input_folder("generator"),
        out=output_folder("generator"),
        settings=settings("compact"),
        device=setting("cyclegan", "device"),
    shell:
        "python -m cg2real compact-generator --run-dir {params.run_dir:q} --crops-a {input.cg:q}"
        " --crops-b {input.real:q} --settings {params.settings:q} --device {params.device}"
        " --out {params.out:q} > {log:q} 2>&1"
