"""What every stage's command line (`cg2real/<stage>/cli.py`) shares: how a subcommand is declared
and how a stage receives its config section.

One way in for settings: the section as JSON (`--settings`, validated by the workflow's schema and
typed by `settings.py`); paths arrive as arguments of their own, since they are the rule's files.
The workflow passes the JSON inline; by hand, `--settings @file.json` or `@file.yaml` reads it from
a file (the section itself, e.g. `{device: auto, batch_size: 4}` for translate).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import yaml

Handler = Callable[[argparse.Namespace], None]


def command(sub: argparse._SubParsersAction, name: str, run: Handler, help_text: str) -> argparse.ArgumentParser:
    """A subcommand `name` that calls `run(args)`."""
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(run=run)
    return parser


def settings_text(argument: str) -> str:
    """A settings argument as JSON text: inline JSON as given, '@file.json' or '@file.yaml' read
    from the file (YAML turned into JSON), so every stage parses one form."""
    if not argument.startswith("@"):
        return argument
    path = Path(argument[1:])
    try:
        text = path.read_text()
    except OSError as err:
        raise argparse.ArgumentTypeError(f"cannot read settings file {path}: {err.strerror}") from err
    if path.suffix.lower() not in (".yaml", ".yml"):
        return text
    try:
        return json.dumps(yaml.safe_load(text))
    except yaml.YAMLError as err:
        raise argparse.ArgumentTypeError(f"settings file {path} is not valid YAML: {err}") from err


def add_settings(parser: argparse.ArgumentParser, section: str, flag: str = "--settings") -> None:
    help_text = f"config section {section}: JSON, or @file.json / @file.yaml holding it"
    parser.add_argument(flag, required=True, type=settings_text, metavar="JSON|@FILE", help=help_text)


def optional_path(text: str) -> Path | None:
    """A path argument that a rule passes as '' when its job has no such file."""
    return Path(text) if text else None
