"""Subcommands of the cluster glue: the multi-process launcher the CycleGAN rule wraps its training
in, and the ABCI profile's submit/status commands (profiles/abci/config.yaml) and installation."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from cg2real.cli import command


def _launch(args: argparse.Namespace) -> None:
    from cg2real.launch import launch

    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    # a multi-node batch job is told by cluster-submit (cluster.multinode: mpi -> mpi, ssh -> gloo)
    controller = args.controller or os.environ.get("CG2REAL_CONTROLLER") or "gloo"
    code = launch(args.backend, args.nproc, args.hosts, controller, program)
    if code:
        raise SystemExit(code)


def _cluster_submit(args: argparse.Namespace) -> None:
    from cg2real.cluster.submit import submit

    print(submit(args.jobscript))


def _cluster_status(args: argparse.Namespace) -> None:
    from cg2real.cluster.status import job_status

    print(job_status(args.jobid))


def _cluster_plan(args: argparse.Namespace) -> None:
    from cg2real.cluster.plan import plan

    extra = args.snakemake_args[1:] if args.snakemake_args[:1] == ["--"] else args.snakemake_args
    print(plan(args.configfile, Path.cwd(), extra))


def _install_profile(args: argparse.Namespace) -> None:
    from cg2real.cluster.profile import install_profile

    print(install_profile(args.source, args.name, os.environ))


def register(sub: argparse._SubParsersAction) -> None:
    run = command(sub, "launch", _launch,
                  "start N processes of a cg2real subcommand with torchrun, horovodrun or mpirun")
    run.add_argument("--backend", choices=("none", "torch", "horovod"), required=True)
    run.add_argument("--nproc", type=int, required=True, help="processes in all (one per device)")
    run.add_argument("--hosts", default=None, help="host1,host2 (default: $PBS_NODEFILE, $SGE_JOB_HOSTLIST, localhost)")
    run.add_argument("--controller", choices=("gloo", "mpi"), default=None,
                     help="horovod's controller (default: $CG2REAL_CONTROLLER, set by cluster-submit, else gloo)")
    run.add_argument("program", nargs=argparse.REMAINDER, help="-- <subcommand and its arguments>")

    submit = command(sub, "cluster-submit", _cluster_submit,
                     "qsub a Snakemake jobscript with its rule's resources; print the job id")
    submit.add_argument("jobscript", type=Path)
    status = command(sub, "cluster-status", _cluster_status,
                     "print running, success or failed for a job id from cluster-submit")
    status.add_argument("jobid")
    planned = command(sub, "cluster-plan", _cluster_plan,
                      "the ABCI plan of a config without its data: every job's type, nodes, walltime, node-hours")
    planned.add_argument("--configfile", type=Path, default=Path("config.yaml"), help="a complete config")
    planned.add_argument("snakemake_args", nargs=argparse.REMAINDER, help="-- more snakemake arguments (targets)")
    profile = command(sub, "install-profile", _install_profile,
                      "link the ABCI profile into Snakemake's user config folder, so `--profile abci` finds it")
    profile.add_argument("--source", type=Path, default=Path("profiles/abci"), help="the profile folder")
    profile.add_argument("--name", default="abci", help="profile name to install as")
