# cg2real: CG-to-real CycleGAN translation as training data for a person detector.
# Everyday use: `snakemake --dry-run` (plan), `snakemake --cores 2` (run); see README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


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
    default_target: True
    input:
        final_outputs(),


rule data:
    input:
        data_stage_outputs(),
