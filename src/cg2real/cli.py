"""What every stage's command line (`cg2real/<stage>/cli.py`) shares: how a subcommand is declared
and how a stage receives its config section.

One way in for settings: the section as JSON (`--settings`, validated by the workflow's schema and
typed by `settings.py`); paths arrive as arguments of their own, since they are the rule's files.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

Handler = Callable[[argparse.Namespace], None]


def command(sub: argparse._SubParsersAction, name: str, run: Handler, help_text: str) -> argparse.ArgumentParser:
    """A subcommand `name` that calls `run(args)`."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(run=run)
    return parser


def add_settings(parser: argparse.ArgumentParser, section: str, flag: str = "--settings") -> None:
    parser.add_argument(flag, required=True, help=f"JSON of config section {section}")


def optional_path(text: str) -> Path | None:
    """A path argument that a rule passes as '' when its job has no such file."""
    return Path(text) if text else None
