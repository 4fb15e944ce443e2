# CycleGAN stage: CG crops (A) + real crops (B) -> one run folder per entry of cyclegan.runs.
# Checkpoints live beside the declared outputs, so a failed or killed job resumes when rerun.


rule train_cyclegan:
    """Train one CycleGAN run, data-parallel over its processes (torch, horovod or one process)."""
    input:
        cg=PATHS["crops"].format(dataset="cg"),
        real=PATHS["crops"].format(dataset="real_train"),
    output:
        generator=PATHS["cyclegan_generator"],
        metrics=PATHS["cyclegan_metrics"],
        card=PATHS["cyclegan_card"],
    log:
        log_path("train_cyclegan", "{run}"),
    benchmark:
        benchmark_path("train_cyclegan", "{run}")
    conda:
        "../envs/gan.yaml"
    threads: run_setting("nproc")
    resources:
        **job_resources("train_cyclegan", gpus=run_setting("nproc"), walltime=run_walltime),
    params:
        backend=run_setting("backend"),
        nproc=run_setting("nproc"),
        device=setting("cyclegan", "device"),
        out=output_folder("generator"),
        settings=plan_json(plan.run_settings, "run"),
    shell:
        "python -m cg2real launch --backend {params.backend} --nproc {params.nproc} -- train-cyclegan"
        " --crops-a {input.cg:q} --crops-b {input.real:q} --out {params.out:q} --settings {params.settings:q}"
        " --backend {params.backend} --device {params.device} > {log:q} 2>&1"
