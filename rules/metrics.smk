# Metrics stage: FID of real crops vs CG crops translated by every saved generator of a run (paper
# 000, figure 6) and by its compact generator after each prune step (paper 001), and the Inception
# Score of its final generator (paper 002). Without the Inception weights the files say "not
# computed" (unless metrics.require_weights is true).


rule fid_curve:
    """FID of the real crops vs the CG crops translated by each saved generator of a run (figure 6)."""
    input:
        generator=PATHS["cyclegan_generator"],
        card=PATHS["cyclegan_card"],
        real=PATHS["crops"].format(dataset="real_train"),
        cg=PATHS["crops"].format(dataset="cg"),
    output:
        PATHS["fid_curve"],
    log:
        log_path("fid_curve", "{run}"),
    benchmark:
        benchmark_path("fid_curve", "{run}")
    conda:
        "../envs/gan.yaml"
    resources:
        **job_resources("fid_curve", gpus=setting("metrics", "device")),
    params:
        run_dir=input_folder("generator"),
        settings=settings("metrics"),
    shell:
        "python -m cg2real fid-curve --run-dir {params.run_dir:q} --real-crops {input.real:q}"
        " --cg-crops {input.cg:q} --settings {params.settings:q} --out {output:q} > {log:q} 2>&1"


rule compact_fid:
    """FID of the run's generator and of its compact generator after each kept prune step (paper 001)."""
    input:
        generator=PATHS["cyclegan_generator"],
        card=PATHS["cyclegan_card"],
        report=PATHS["compact_report"],
        summary=PATHS["compact_summary"],
        real=PATHS["crops"].format(dataset="real_train"),
        cg=PATHS["crops"].format(dataset="cg"),
    output:
        PATHS["compact_fid"],
    log:
        log_path("compact_fid", "{run}"),
    benchmark:
        benchmark_path("compact_fid", "{run}")
    conda:
        "../envs/gan.yaml"
    resources:
        **job_resources("compact_fid", gpus=setting("metrics", "device")),
    params:
        run_dir=input_folder("generator"),
        compact_dir=input_folder("report"),
        settings=settings("metrics"),
    shell:
        "python -m cg2real compact-fid --compact-dir {params.compact_dir:q} --run-dir {params.run_dir:q}"
        " --real-crops {input.real:q} --cg-crops {input.cg:q} --settings {params.settings:q} --out {output:q}"
        " > {log:q} 2>&1"


rule plot_fid:
    """FID against epoch for every run, in one figure."""
    input:
        expand(PATHS["fid_curve"], run=RUNS),
    output:
        report(PATHS["fid_plot"], caption="../report/fid.rst", category="CycleGAN"),
    log:
        log_path("plot_fid"),
    benchmark:
        benchmark_path("plot_fid")
    conda:
        "../envs/gan.yaml"
    resources:
        **job_resources("plot_fid"),
    params:
        curves=lambda wildcards, input: [f"{run}={csv}" for run, csv in zip(RUNS, input)],
    shell:
        "python -m cg2real plot-fid --csv {params.curves:q} --out {output:q} > {log:q} 2>&1"


rule inception_score:
    """Inception Score of the CG crops translated by a run's final generator."""
    input:
        generator=PATHS["cyclegan_generator"],
        card=PATHS["cyclegan_card"],
        cg=PATHS["crops"].format(dataset="cg"),
    output:
        PATHS["inception_score"],
    log:
        log_path("inception_score", "{run}"),
    benchmark:
        benchmark_path("inception_score", "{run}")
    conda:
        "../envs/gan.yaml"
    resources:
        **job_resources("inception_score", gpus=setting("metrics", "device")),
    params:
        run_dir=input_folder("generator"),
        settings=settings("metrics"),
    shell:
        "python -m cg2real inception-score --run-dir {params.run_dir:q} --cg-crops {input.cg:q}"
        " --settings {params.settings:q} --out {output:q} > {log:q} 2>&1"
