# Report stage: result files only -> Table 2, the scalability figure and table, sample translations,
# the augmentation study.


rule table2_row:
    input:
        rows=expand(PATHS["replicate_row"], replicate=plan.replicates(config), allow_missing=True),
        detections=expand(PATHS["replicate_detections"], replicate=plan.replicates(config), allow_missing=True),
        coco=PATHS["coco"].format(dataset="real_val"),
    output:
        PATHS["table2_row"],
    log:
        log_path("table2_row", "{condition}"),
    benchmark:
        benchmark_path("table2_row", "{condition}")
    conda:
        "../envs/data.yaml"
    resources:
        **job_resources("table2_row"),
    shell:
        "python -m cg2real table2-row --condition {wildcards.condition} --replicates {input.rows:q}"
        " --detections {input.detections:q} --coco {input.coco:q} --out {output:q} > {log:q} 2>&1"


rule table2:
    input:
        rows=expand(PATHS["table2_row"], condition=CONDITIONS),
        detections=expand(PATHS["replicate_detections"], condition=CONDITIONS, replicate=plan.replicates(config)),
        coco=PATHS["coco"].format(dataset="real_val"),
    output:
        csv=PATHS["table2_csv"],
        markdown=report(PATHS["table2_md"], caption="../report/table2.rst", category="Table 2"),
    log:
        log_path("table2"),
    benchmark:
        benchmark_path("table2")
    conda:
        "../envs/data.yaml"
    resources:
        **job_resources("table2"),
    params:
        with_paper="--with-paper" if setting("report", "with_paper_rows") else "",
    shell:
        "python -m cg2real table2 --rows {input.rows:q} --coco {input.coco:q} --csv {output.csv:q}"
        " --markdown {output.markdown:q} {params.with_paper} > {log:q} 2>&1"


rule plot_scalability:
    input:
        expand(PATHS["cyclegan_metrics"], run=plan.scaling_runs(config)),
    output:
        plot=report(
            PATHS["scalability_plot"],
            caption="../report/scalability.rst",
            category="CycleGAN",
        ),
        csv=PATHS["scalability_csv"],
        markdown=report(
            PATHS["scalability_md"],
            caption="../report/scalability.rst",
            category="CycleGAN",
        ),
    log:
        log_path("plot_scalability"),
    benchmark:
        benchmark_path("plot_scalability")
    conda:
        "../envs/gan.yaml"
    resources:
        **job_resources("plot_scalability"),
    params:
        runs=plan.scaling_runs(config),
        with_paper="--with-paper" if setting("report", "with_paper_rows") else "",
    shell:
        "python -m cg2real plot-scalability --runs {params.runs:q} --metrics {input:q} --out {output.plot:q}"
        " --csv {output.csv:q} --markdown {output.markdown:q} {params.with_paper} > {log:q} 2>&1"


rule sample_grid:
    input:
        real=PATHS["yolo"].format(dataset="real_val"),
        cg=PATHS["yolo"].format(dataset="cg"),
        translated=expand(PATHS["translated"], run=RUNS, generator="full"),
    output:
        report(PATHS["sample_grid"], caption="../report/samples.rst", category="CycleGAN"),
    log:
        log_path("sample_grid"),
    benchmark:
        benchmark_path("sample_grid")
    conda:
        "../envs/gan.yaml"
    resources:
        **job_resources("sample_grid"),
    params:
        runs=RUNS,
    shell:
        "python -m cg2real sample-grid --real {input.real:q} --cg {input.cg:q} --runs {params.runs:q}"
        " --translated {input.translated:q} --out {output:q} > {log:q} 2>&1"


rule augment_study:
    input:
        fid=expand(PATHS["fid_curve"], run=RUNS),
        inception_score=expand(PATHS["inception_score"], run=RUNS),
        rows=expand(PATHS["table2_row"], condition=plan.conditions_of_runs(config)),
    output:
        report(
            PATHS["augment_study"],
            caption="../report/augment_study.rst",
            category="Augmentation",
        ),
    log:
        log_path("augment_study"),
    benchmark:
        benchmark_path("augment_study")
    conda:
        "../envs/gan.yaml"
    resources:
        **job_resources("augment_study"),
    params:
        manifest=augment_study_manifest(),
    shell:
        "python -m cg2real augment-study --manifest {params.manifest:q} --out {output:q} > {log:q} 2>&1"
