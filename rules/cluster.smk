# Cluster jobs (profiles/abci): every rule's resources come from job_resources (cg2real.cluster);
# the container, if configured, is used under --sdm apptainer; a cluster run without an ABCI group
# or without qsub stops at the start. Local runs (no profile) ignore all of this.

import os

from snakemake.logging import logger

from cg2real.cluster.options import VARIABLE as CLUSTER_OPTIONS, ClusterOptions
from cg2real.cluster.resources import abci_group, training_walltime
from cg2real.cluster.resources import job_resources as cluster_job_resources
from cg2real.cluster.submit import start_problem


container: config["cluster"]["container"]


# The profile's submit and status commands inherit Snakemake's environment: the run's settings.
os.environ[CLUSTER_OPTIONS] = ClusterOptions.from_config(config["cluster"], LOGS).to_json()


# Seconds-long aggregation jobs run on the login node under the profile, not as batch jobs.
localrules:
    summarize_data,
    detector_set,
    table2_row,
    table2,
    plot_fid,
    plot_scalability,
    sample_grid,
    augment_study,
    cyclegan_progress,
    detector_plots,
    table2_attributes,


def job_resources(rule, gpus=0, walltime=None):
    """The rule's job resources (`resources: **job_resources("rule")`): see cluster.resources.job_resources."""
    resources = cluster_job_resources(config["cluster"], rule, gpus, os.environ, walltime)
    return {**resources, "abci_group": warn_without_group(resources["abci_group"])}


def run_walltime(wildcards):
    """A CycleGAN run's walltime: cluster.run_walltimes, or estimated from the run's settings."""
    run = config["cyclegan"]["runs"][wildcards.run]
    return training_walltime(config["cluster"], wildcards.run, run["nproc"], plan.run_settings(config, wildcards.run))


def warn_without_group(group):
    """The group resource; a dry run under the profile (its jobscripts are named abci.*) warns once
    when no group is set, since the real run would stop before submitting anything."""

    def value(wildcards):
        found = group(wildcards) if callable(group) else group
        settings = workflow.remote_execution_settings
        under_profile = settings is not None and settings.jobname.startswith("abci.")
        if not found and under_profile and workflow.dryrun and not WARNED:
            WARNED.append(found)
            logger.warning(
                "warning: no ABCI group set (export ABCI_GROUP=<group>, or --config 'cluster={group: ...}'): "
                "a run under the profile would stop before submitting anything"
            )
        return found

    return value


WARNED = []


onstart:
    # one line, no traceback: no group, or no qsub (not on a login node)
    if not workflow.local_exec and (problem := start_problem(abci_group(config["cluster"], os.environ))):
        logger.error(problem)
        raise SystemExit(1)
