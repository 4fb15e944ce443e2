# Cluster jobs (profiles/abci): every rule's resources come from job_resources; the container, if
# configured, is used under --sdm apptainer; a cluster run without an ABCI group stops at the start.

import os

from cg2real.cluster.resources import abci_group, require_group
from cg2real.cluster.resources import job_resources as cluster_job_resources


container: config["cluster"]["container"]


def job_resources(rule, gpus=0):
    """The rule's job resources (`resources: **job_resources("rule")`): see cluster.resources.job_resources."""
    return cluster_job_resources(config["cluster"], rule, gpus, os.environ)


onstart:
    if not workflow.local_exec:
        require_group(abci_group(config["cluster"], os.environ))
