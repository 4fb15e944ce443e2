# Report stage: result files only -> Table 2, the scalability figure and table, sample translations,
# the augmentation study.


rule table2_row:
    """A condition's Table 2 row: its replicates' means with intervals over seeds and over images."""
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
    """Table 2 from the condition rows: CSV, Markdown, and HTML for the report."""
    input:
        rows=expand(PATHS["table2_row"], condition=CONDITIONS),
        detections=expand(PATHS["replicate_detections"], condition=CONDITIONS, replicate=plan.replicates(config)),
        coco=PATHS["coco"].format(dataset="real_val"),
    output:
        csv=PATHS["table2_csv"],
        markdown=PATHS["table2_md"],
        html=report(PATHS["table2_html"], caption="../report/table2.rst", category="Table 2"),
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
        " --markdown {output.markdown:q} --html {output.html:q} {params.with_paper} > {log:q} 2>&1"


rule plot_scalability:
    """CycleGAN speed-up against process count (paper 000, figure 4) and its efficiency table."""
    input:
        expand(PATHS["cyclegan_metrics"], run=plan.scaling_runs(config)),
    output:
        plot=report(
            PATHS["scalability_plot"],
            caption="../report/scalability.rst",
            category="CycleGAN",
        ),
        csv=PATHS["scalability_csv"],
        markdown=PATHS["scalability_md"],
        html=report(
            PATHS["scalability_html"],
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
        " --csv {output.csv:q} --markdown {output.markdown:q} --html {output.html:q} {params.with_paper}"
        " > {log:q} 2>&1"


rule sample_grid:
    """Sample frames side by side: real, CG, and that CG frame translated by each run."""
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
    """Per CycleGAN run: its augmentation, final FID and IS, and its Table 2 condition's mAP."""
    input:
        fid=expand(PATHS["fid_curve"], run=RUNS),
        inception_score=expand(PATHS["inception_score"], run=RUNS),
        rows=expand(PATHS["table2_row"], condition=plan.conditions_of_runs(config)),
    output:
        markdown=PATHS["augment_study"],
        html=report(
            PATHS["augment_study_html"],
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
        "python -m cg2real augment-study --manifest {params.manifest:q} --out {output.markdown:q}"
        " --html {output.html:q} > {log:q} 2>&1"


rule cyclegan_progress:
    """A CycleGAN run's losses per epoch and its first and newest sample grids."""
    input:
        PATHS["cyclegan_metrics"],
    output:
        losses=report(
            PATHS["cyclegan_losses"],
            caption="../report/cyclegan_losses.rst",
            category="CycleGAN runs",
            subcategory="{run}",
        ),
        samples=report(
            PATHS["cyclegan_sample_grids"],
            caption="../report/cyclegan_samples.rst",
            category="CycleGAN runs",
            subcategory="{run}",
        ),
    log:
        log_path("cyclegan_progress", "{run}"),
    benchmark:
        benchmark_path("cyclegan_progress", "{run}")
    conda:
        "../envs/gan.yaml"
    resources:
        **job_resources("cyclegan_progress"),
    params:
        samples=PATHS["cyclegan_samples"],
    shell:
        "python -m cg2real cyclegan-progress --name {wildcards.run} --metrics {input:q} --samples {params.samples:q}"
        " --losses {output.losses:q} --sample-grid {output.samples:q} > {log:q} 2>&1"


rule detector_plots:
    """ultralytics' own plots of every detector training (when detector.train.plots is on)."""
    input:
        expand(PATHS["detector_summary"], condition=CONDITIONS, replicate=plan.replicates(config)),
    output:
        report(
            directory(PATHS["detector_plots"]),
            patterns=["{condition}/r{replicate}/{plot}.png"],
            caption="../report/detector_plots.rst",
            category="Detector",
            subcategory="{condition}",
            labels={"replicate": "r{replicate}", "plot": "{plot}"},
        ),
    log:
        log_path("detector_plots"),
    benchmark:
        benchmark_path("detector_plots")
    conda:
        "../envs/detector.yaml"
    resources:
        **job_resources("detector_plots"),
    params:
        trainings=expand("{condition}/r{replicate}", condition=CONDITIONS, replicate=plan.replicates(config)),
        runs=expand(PATHS["detector_run"], condition=CONDITIONS, replicate=plan.replicates(config)),
    shell:
        "python -m cg2real detector-plots --trainings {params.trainings:q} --runs {params.runs:q} --out {output:q}"
        " > {log:q} 2>&1"


rule table2_attributes:
    """Table 2 by frame attribute (time of day, weather): mAP@0.5 per group of validation images."""
    input:
        rows=expand(PATHS["table2_row"], condition=CONDITIONS),
        detections=expand(PATHS["replicate_detections"], condition=CONDITIONS, replicate=plan.replicates(config)),
        coco=PATHS["coco"].format(dataset="real_val"),
        manifest=PATHS["manifest"].format(dataset="real_val"),
    output:
        csv=PATHS["table2_attributes_csv"],
        markdown=PATHS["table2_attributes_md"],
        html=report(PATHS["table2_attributes_html"], caption="../report/table2_attributes.rst", category="Table 2"),
    log:
        log_path("table2_attributes"),
    benchmark:
        benchmark_path("table2_attributes")
    conda:
        "../envs/data.yaml"
    resources:
        **job_resources("table2_attributes"),
    shell:
        "python -m cg2real table2-attributes --rows {input.rows:q} --coco {input.coco:q} --manifest {input.manifest:q}"
        " --csv {output.csv:q} --markdown {output.markdown:q} --html {output.html:q} > {log:q} 2>&1"
