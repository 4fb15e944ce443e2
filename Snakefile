# cg2real: CG-to-real CycleGAN translation as training data for a person detector.
# Everyday use: `snakemake --dry-run` (plan), `snakemake --cores 2` (run); see README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/cluster.smk"
include: "rules/data.smk"
include: "rules/cyclegan.smk"
include: "rules/compact.smk"
include: "rules/translate.smk"
include: "rules/metrics.smk"
include: "rules/detector.smk"
include: "rules/report.smk"


rule all:
    """Every result: Table 2, the figures, the augmentation study and what they are made of."""
    default_target: True
    input:
        plan.final_outputs(config, PATHS),


rule data:
    """The data stage alone: manifests, crops, detector sets and summaries (`snakemake data`)."""
    input:
        plan.data_stage_outputs(PATHS),
