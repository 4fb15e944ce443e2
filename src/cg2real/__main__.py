"""Command line of cg2real: `python -m cg2real <subcommand>`. Argument parsing only.

Every Snakemake rule calls the subcommand of its own name (rule `crop_persons` -> `crop-persons`),
declared in the `cli.py` of its stage's package, next to the code it calls. Stage settings arrive
as the JSON of their config section (`--settings`, validated by the workflow's schema), paths as
explicit arguments.
"""

from __future__ import annotations

import argparse
import logging
import sys

from cg2real.cluster import cli as cluster_cli
from cg2real.compact import cli as compact_cli
from cg2real.cyclegan import cli as cyclegan_cli
from cg2real.data import cli as data_cli
from cg2real.detector import cli as detector_cli
from cg2real.errors import DataError
from cg2real.metrics import cli as metrics_cli
from cg2real.report import cli as report_cli
from cg2real.translate import cli as translate_cli

log = logging.getLogger("cg2real")

# in the order of the workflow's stages
STAGES = (data_cli, cyclegan_cli, compact_cli, translate_cli, metrics_cli, detector_cli, report_cli, cluster_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cg2real", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for stage in STAGES:
        stage.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except DataError as err:
        log.error("%s", err)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
