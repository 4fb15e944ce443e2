"""Command line of cg2real: `python -m cg2real <subcommand>` (also installed as `cg2real`).

Every Snakemake rule calls the subcommand of its own name (rule `crop_persons` -> `crop-persons`),
declared in the `cli.py` of its stage's package, next to the code it calls. Stage settings arrive
as the JSON of their config section (`--settings`, validated by the workflow's schema), paths as
explicit arguments. The same subcommands run by hand, so `--help` is written for a person: what the
tool is, and each stage with its subcommands, in workflow order.
"""

from __future__ import annotations

import argparse
import logging
import sys
from types import ModuleType

import cg2real
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

DESCRIPTION = """\
CG-to-real image translation as training data for a person detector: a distributed CycleGAN
turns computer-generated (SYNTHIA) frames into real-looking (BDD100K) ones, and a YOLOv3 person
detector trained with them is compared with one trained without (Table 2 of the paper).

The Snakemake workflow (`snakemake --cores 2`, see README.md) runs one subcommand per rule; each
also runs by hand. Paths are arguments; settings are the JSON of a config section:
--settings '{"device": "auto", "batch_size": 4}', or --settings @file.json / @file.yaml.
Example: a trained generator on a folder of images
  cg2real translate --generator results/cyclegan/demo/G_cg2real.pt --input-dir frames/
      --output-dir translated/ --settings '{"device": "auto", "batch_size": 4}'
"""


def _stage_name(stage: ModuleType) -> str:
    """'cg2real.data.cli' -> 'data'."""
    return stage.__name__.split(".")[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cg2real", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {cg2real.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<subcommand>")
    listing = []
    for stage in STAGES:
        before = set(sub.choices)
        stage.register(sub)
        listing.append(f"  {_stage_name(stage):<10}{', '.join(c for c in sub.choices if c not in before)}")
    parser.epilog = "stages, in workflow order, and their subcommands:\n" + "\n".join(listing)
    parser.epilog += "\n\n`cg2real <subcommand> --help` lists a subcommand's arguments."
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
