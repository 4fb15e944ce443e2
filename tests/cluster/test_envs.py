"""The conda envs of `--sdm conda`: pins agree with pyproject.toml, and each env gets the package itself."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ENVS = sorted((REPO / "envs").glob("*.yaml"))


def pin(requirement: str) -> tuple[str, str]:
    name, version = requirement.split("==")
    return re.sub(r"[-_.]+", "-", name).lower(), version


def pip_pins(env_file: Path) -> dict[str, str]:
    dependencies = yaml.safe_load(env_file.read_text())["dependencies"]
    (pip,) = [d["pip"] for d in dependencies if isinstance(d, dict)]
    return dict(map(pin, pip))


def test_every_env_pin_is_pyprojects():
    project = dict(map(pin, tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]))
    assert [env.name for env in ENVS] == ["data.yaml", "detector.yaml", "gan.yaml"]
    for env in ENVS:
        pins = pip_pins(env)
        assert pins, env
        assert {name: version for name, version in pins.items() if project.get(name) != version} == {}, env.name


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.stem)
def test_env_installs_the_project_after_its_pins(env):
    deploy = env.with_name(f"{env.stem}.post-deploy.sh")
    assert deploy.is_file(), f"{deploy.name} missing: `python -m cg2real` would not import in that env"
    assert "python -m pip install --no-deps --editable .\n" in deploy.read_text()


def rule_blocks() -> dict[str, str]:
    """Rule name -> its text, over rules/*.smk."""
    blocks = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule \w+:)", smk.read_text())[1:]:
            blocks[re.match(r"rule (\w+):", block).group(1)] = block
    return blocks


def handler_modules(subcommand: str) -> set[str]:
    """The modules `python -m cg2real <subcommand>` imports (its handler imports them lazily)."""
    import argparse
    import ast
    import inspect

    from cg2real.__main__ import build_parser

    (subparsers,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    handler = subparsers.choices[subcommand].get_default("run")
    tree = ast.parse(inspect.getsource(handler))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }


def installed_closure(pins: dict[str, str]) -> set[str]:
    """The distributions pip puts in an env for `pins`: them and their requirements, as installed here."""
    from importlib.metadata import PackageNotFoundError, distribution

    seen, todo = set(), list(pins)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        todo += [re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", r).group()).lower()
                 for r in requires if "extra ==" not in r]
    return seen


def env_site_packages(dists: set[str], folder: Path) -> Path:
    """A site-packages holding only `dists` (links to this venv's copies), as the conda env would."""
    from importlib.metadata import PackageNotFoundError, distribution

    folder.mkdir()
    for name in dists:
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for top in {Path(file).parts[0] for file in dist.files or []} - {"..", "__pycache__"}:
            source = Path(dist.locate_file(top))
            if source.exists() and not (folder / top).exists():
                (folder / top).symlink_to(source)
    return folder


IMPORT_CHECK = """
import importlib, sys
for module in sys.argv[1:]:
    try:
        importlib.import_module(module)
    except ImportError as err:
        print(f"{module}: {err}")
"""


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.stem)
def test_each_rule_imports_only_what_its_env_installs(env, tmp_path):
    """A rule whose subcommand needs a package its conda env lacks would fail only under --sdm conda.

    Python starts without this venv's site-packages (-S), on a folder linking just the env's
    distributions (its pins and what they require) plus the project's src/.
    """
    import os
    import subprocess
    import sys

    modules = {}
    for rule, text in rule_blocks().items():
        if f"envs/{env.name}" in text:
            shell = text[text.index("shell:"):]
            for subcommand in re.findall(r"python -m cg2real ([\w-]+)", shell) + re.findall(r" -- ([\w-]+)", shell):
                modules.update(dict.fromkeys(handler_modules(subcommand), rule))
    assert modules, f"no rule uses {env.name}"
    site = env_site_packages(installed_closure(pip_pins(env)), tmp_path / "site-packages")
    environ = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{REPO / 'src'}", "MPLCONFIGDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-S", "-c", IMPORT_CHECK, *sorted(modules)],
                          capture_output=True, text=True, timeout=300, env=environ)
    assert done.returncode == 0, done.stderr
    failures = [f"rule {modules[line.split(':')[0]]}: {line}" for line in done.stdout.splitlines()]
    assert failures == [], f"{env.name} lacks packages:\n" + "\n".join(failures)


def test_container_definition_installs_the_pinned_project():
    definition = (REPO / "containers/cg2real.def").read_text()
    sections = dict(re.findall(r"^%(\w+)\n(.*?)(?=^%|\Z)", definition, flags=re.M | re.S))
    assert {"pyproject.toml /opt/cg2real/pyproject.toml", "src /opt/cg2real/src"} <= {
        line.strip() for line in sections["files"].splitlines()}
    assert "python -m pip install --no-cache-dir /opt/cg2real\n" in sections["post"]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    # the image is only as pinned as pyproject: every dependency exact
    assert [d for d in project["dependencies"] if "==" not in d] == []
    python = re.search(r"^From: python:(\d+\.\d+)", definition, flags=re.M).group(1)
    assert project["requires-python"] == f">={python}"
