# Report stage: Table 2 from the condition rows (ours, and the paper's beside them when asked).


rule table2:
    input:
        expand(PATHS["table2_row"], condition=CONDITIONS),
    output:
        csv=PATHS["table2_csv"],
        markdown=report(PATHS["table2_md"], caption="../report/table2.rst", category="Table 2"),
    params:
        with_paper="--with-paper" if config["report"]["with_paper_rows"] else "",
    resources:
        **job_resources("table2"),
    log:
        log_path("table2"),
    conda:
        "../envs/data.yaml"
    shell:
        "python -m cg2real table2 --rows {input} --csv {output.csv} --markdown {output.markdown}"
        " {params.with_paper} > {log} 2>&1"


rule plot_scalability:
    input:
        expand(PATHS["cyclegan_metrics"], run=scaling_runs()),
    output:
        plot=report(PATHS["scalability_plot"], caption="../report/scalability.rst", category="CycleGAN"),
        csv=PATHS["scalability_csv"],
        markdown=report(PATHS["scalability_md"], caption="../report/scalability.rst", category="CycleGAN"),
    params:
        runs=scaling_runs(),
        with_paper="--with-paper" if config["report"]["with_paper_rows"] else "",
    resources:
        **job_resources("plot_scalability"),
    log:
        log_path("plot_scalability"),
    conda:
        "../envs/gan.yaml"
    shell:
        "python -m cg2real plot-scalability --runs {params.runs} --metrics {input} --out {output.plot}"
        " --csv {output.csv} --markdown {output.markdown} {params.with_paper} > {log} 2>&1"


rule sample_grid:
    input:
        real=PATHS["yolo"].format(dataset="real_val"),
        cg=PATHS["yolo"].format(dataset="cg"),
        translated=expand(PATHS["translated"], run=CYCLEGAN_RUNS, generator="full"),
    output:
        report(PATHS["sample_grid"], caption="../report/samples.rst", category="CycleGAN"),
    params:
        runs=CYCLEGAN_RUNS,
    resources:
        **job_resources("sample_grid"),
    log:
        log_path("sample_grid"),
    conda:
        "../envs/gan.yaml"
    shell:
        "python -m cg2real sample-grid --real {input.real} --cg {input.cg} --runs {params.runs}"
        " --translated {input.translated} --out {output} > {log} 2>&1"


rule augment_study:
    input:
        unpack(augment_study_inputs),
    output:
        report(PATHS["augment_study"], caption="../report/augment_study.rst", category="Augmentation"),
    params:
        manifest=augment_study_manifest,
    resources:
        **job_resources("augment_study"),
    log:
        log_path("augment_study"),
    conda:
        "../envs/gan.yaml"
    shell:
        "python -m cg2real augment-study --manifest {params.manifest:q} --out {output} > {log} 2>&1"
