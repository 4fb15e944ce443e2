"""The cluster settings that the submit and status commands need beyond a job's own resources.

Snakemake's cluster-generic executor starts `cluster-submit` and `cluster-status` with its own
environment; `rules/cluster.smk` puts these settings there (`CG2REAL_CLUSTER`, JSON), from the one
config the workflow was started with, so the profile's commands need no config file of their own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

VARIABLE = "CG2REAL_CLUSTER"
MULTINODE = ("mpi", "ssh")


@dataclass(frozen=True)
class ClusterOptions:
    """What every job of one Snakemake run shares (config.yaml's `cluster` section explains each)."""

    multinode: str = "mpi"  # how the launcher reaches a job's other nodes: the scheduler's MPI, or ssh
    ssh_port: int = 2222  # ABCI 2.0's sshd port for -l USE_SSH=1 (-v SSH_PORT, 2200-2299)
    job_prelude: tuple[str, ...] = ()  # shell lines at the top of every job script
    job_environment: tuple[str, ...] = ("PATH", "VIRTUAL_ENV")  # variables handed to jobs (qsub -v)
    logs_dir: str = "logs"
    status_grace_seconds: int = 600  # a Grid Engine job gone from qstat and qacct this long failed
    status_cache_seconds: int = 20  # one qstat answers every status query this long

    @classmethod
    def from_config(cls, cluster: Mapping, logs_dir: str) -> ClusterOptions:
        return cls(
            multinode=cluster["multinode"],
            ssh_port=cluster["ssh_port"],
            job_prelude=tuple(cluster["job_prelude"].get(cluster["scheduler"], [])),
            job_environment=tuple(cluster["job_environment"]),
            logs_dir=logs_dir,
            status_grace_seconds=cluster["status_grace_seconds"],
            status_cache_seconds=cluster["status_cache_seconds"],
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ClusterOptions:
        """The settings `rules/cluster.smk` exported; the defaults when run outside Snakemake."""
        text = environ.get(VARIABLE, "")
        if not text:
            return cls()
        values = json.loads(text)
        for key in ("job_prelude", "job_environment"):
            values[key] = tuple(values.get(key, ()))
        return cls(**{key: value for key, value in values.items() if key in cls.__dataclass_fields__})
