"""The rule files: one hop from a rule to its code, every job logged and benchmarked, every path
quoted in the shell, formatted by snakefmt, and no config read outside rules/common.smk."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cg2real.__main__ import build_parser
from tests.cluster.test_envs import rule_blocks

REPO = Path(__file__).resolve().parents[1]
RULES = rule_blocks()
JOB_RULES = {rule: text for rule, text in RULES.items() if "    shell:" in text}
# parameters that are choices or numbers, never paths: they need no quoting
PLAIN_PARAMS = {"backend", "nproc", "device", "frames", "link_mode", "imgsz", "with_paper"}


def shell_of(text: str) -> str:
    return text[text.index("    shell:"):]


def test_the_rule_files_are_read():
    assert {"demo_data", "crop_persons", "train_cyclegan", "translate", "fid_curve", "table2"} <= set(JOB_RULES)
    assert set(RULES) - set(JOB_RULES) == set()  # all and data live in the Snakefile


@pytest.mark.parametrize("rule", sorted(JOB_RULES))
def test_a_rule_calls_the_subcommand_of_its_name(rule):
    shell = shell_of(JOB_RULES[rule])
    called = re.findall(r"python -m cg2real ([\w-]+)", shell)
    launched = re.findall(r" -- ([\w-]+)", shell)  # the program `cg2real launch` starts
    subcommand = rule.replace("_", "-")
    assert (launched or called)[-1] == subcommand, f"rule {rule} calls {called + launched}"
    (subparsers,) = [a for a in build_parser()._actions if a.dest == "command"]
    assert subcommand in subparsers.choices


@pytest.mark.parametrize("rule", sorted(JOB_RULES))
def test_every_job_is_logged_and_benchmarked_under_its_rules_name(rule):
    text = JOB_RULES[rule]
    assert re.search(rf'^    log:\n        log_path\("{rule}"', text, re.M), f"{rule}: log"
    assert re.search(rf'^    benchmark:\n        benchmark_path\("{rule}"', text, re.M), f"{rule}: benchmark"


@pytest.mark.parametrize("rule", sorted(JOB_RULES))
def test_every_path_in_a_shell_line_is_quoted(rule):
    """A data path with a space, or `$(...)` in a configured path, must reach the program as text."""
    fields = re.findall(r"(?<!\{)\{([^{}]+)\}(?!\})", shell_of(JOB_RULES[rule]))
    unquoted = [
        field for field in fields
        if not field.endswith(":q")
        and not field.startswith(("wildcards.", "threads"))
        and not (field.startswith("params.") and field.removeprefix("params.") in PLAIN_PARAMS)
    ]
    assert unquoted == [], f"rule {rule}: unquoted {unquoted}"


def test_rule_files_read_no_config_directly():
    """Values reach rules through common.smk's helpers and the plan (cg2real.workflow)."""
    readers = {smk.name for smk in (REPO / "rules").glob("*.smk") if "config[" in smk.read_text()}
    assert readers <= {"common.smk", "cluster.smk"}
    assert len((REPO / "rules" / "common.smk").read_text().splitlines()) <= 180


def test_snakefmt_has_nothing_to_change():
    snakefmt = Path(sys.executable).with_name("snakefmt")
    done = subprocess.run([str(snakefmt), "--check", "Snakefile", "rules"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_rule_has_a_docstring():
    """Shown by `snakemake --list-rules` and beside each rule in the report: every rule says what it makes."""
    blocks = dict(RULES)
    for block in re.split(r"(?m)^(?=rule \w+:)", (REPO / "Snakefile").read_text())[1:]:
        blocks[re.match(r"rule (\w+):", block).group(1)] = block
    assert {"all", "data", "table2", "train_cyclegan"} <= set(blocks)
    undocumented = [rule for rule, text in blocks.items() if not re.match(r'rule \w+:\n    """\S', text)]
    assert undocumented == []
