# CycleGAN stage: CG crops (A) + real crops (B) -> one run folder per entry of cyclegan.runs.
# Checkpoints live beside the declared outputs, so a failed or killed job resumes when rerun.


rule train_cyclegan:
    input:
        cg=PATHS["crops"].format(dataset="cg"),
        real=PATHS["crops"].format(dataset="real_train"),
    output:
        generator=PATHS["cyclegan_generator"],
        metrics=PATHS["cyclegan_metrics"],
        card=PATHS["cyclegan_card"],
    params:
        backend=lambda wildcards: cyclegan_run(wildcards)["backend"],
        nproc=lambda wildcards: cyclegan_run(wildcards)["nproc"],
        device=CYCLEGAN["device"],
        out=run_folder,
        settings=cyclegan_settings_json,
    threads: lambda wildcards: cyclegan_run(wildcards)["nproc"]
    resources:
        **job_resources("train_cyclegan", gpus=lambda wildcards: cyclegan_run(wildcards)["nproc"]),
    log:
        log_path("train_cyclegan", "{run}"),
    conda:
        "../envs/gan.yaml"
    shell:
        "python -m cg2real launch --backend {params.backend} --nproc {params.nproc} -- train-cyclegan"
        " --crops-a {input.cg} --crops-b {input.real} --out {params.out} --settings {params.settings:q}"
        " --backend {params.backend} --device {params.device} > {log} 2>&1"
