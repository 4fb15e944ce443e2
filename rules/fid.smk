# FID stage: real crops vs CG crops translated by every saved generator of a run (figure 6).
# Without the Inception weights the CSV says "not computed" (unless fid.require_weights is true).


rule fid_curve:
    input:
        generator=PATHS["cyclegan_generator"],
        card=PATHS["cyclegan_card"],
        real=PATHS["crops"].format(dataset="real_train"),
        cg=PATHS["crops"].format(dataset="cg"),
    output:
        PATHS["fid_curve"],
    params:
        run_dir=lambda wildcards, input: str(Path(input.generator).parent),
        weights=fid_weights_arg,
        batch_size=config["fid"]["batch_size"],
        require="--require-weights" if config["fid"]["require_weights"] else "",
        device=CYCLEGAN["device"],
    resources:
        **job_resources("fid_curve", gpus=device_gpus(CYCLEGAN["device"])),
    log:
        log_path("fid_curve", "{run}"),
    conda:
        "../envs/gan.yaml"
    shell:
        "python -m cg2real fid --run-dir {params.run_dir} --real-crops {input.real} --cg-crops {input.cg}"
        " {params.weights} --batch-size {params.batch_size} --device {params.device} {params.require}"
        " --out {output} > {log} 2>&1"


rule plot_fid:
    input:
        expand(PATHS["fid_curve"], run=CYCLEGAN_RUNS),
    output:
        report(PATHS["fid_plot"], caption="../report/fid.rst", category="CycleGAN"),
    params:
        curves=lambda wildcards, input: [f"{run}={csv}" for run, csv in zip(CYCLEGAN_RUNS, input)],
    resources:
        **job_resources("plot_fid"),
    log:
        log_path("plot_fid"),
    conda:
        "../envs/gan.yaml"
    shell:
        "python -m cg2real plot-fid --csv {params.curves} --out {output} > {log} 2>&1"


rule inception_score:
    input:
        generator=PATHS["cyclegan_generator"],
        card=PATHS["cyclegan_card"],
        cg=PATHS["crops"].format(dataset="cg"),
    output:
        PATHS["inception_score"],
    params:
        run_dir=lambda wildcards, input: str(Path(input.generator).parent),
        weights=fid_weights_arg,
        batch_size=config["fid"]["batch_size"],
        require="--require-weights" if config["fid"]["require_weights"] else "",
        device=CYCLEGAN["device"],
    resources:
        **job_resources("inception_score", gpus=device_gpus(CYCLEGAN["device"])),
    log:
        log_path("inception_score", "{run}"),
    conda:
        "../envs/gan.yaml"
    shell:
        "python -m cg2real inception-score --run-dir {params.run_dir} --cg-crops {input.cg} {params.weights}"
        " --batch-size {params.batch_size} --device {params.device} {params.require} --out {output} > {log} 2>&1"
