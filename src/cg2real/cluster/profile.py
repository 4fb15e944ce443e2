"""Link the project's Snakemake profile where `snakemake --profile <name>` finds it.

Snakemake resolves a bare profile name in the current folder, the user's config folder
(`$XDG_CONFIG_HOME/snakemake`, by default `~/.config/snakemake`) or the site's
(`/etc/xdg/snakemake`), never in the project's `profiles/`. A link (not a copy) keeps the
installed profile in step with the checkout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cg2real.errors import DataError


def user_profile_folder(environ: Mapping[str, str]) -> Path:
    """Snakemake's per-user profile folder on Linux (platformdirs' user_config_dir)."""
    config_home = environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(config_home) if config_home else Path(environ["HOME"]) / ".config") / "snakemake"


def install_profile(source: Path, name: str, environ: Mapping[str, str]) -> str:
    """Link `source` as profile `name`; returns what was done. Never replaces another profile."""
    source = source.resolve()
    if not (source / "config.yaml").is_file():
        raise DataError(f"{source} has no config.yaml: not a Snakemake profile (run from the project root or pass --source)")
    target = user_profile_folder(environ) / name
    if target.is_symlink() or target.exists():
        if target.resolve() == source:
            return f"{target} already links to {source}; nothing to do"
        raise DataError(
            f"{target} exists and is not this project's profile ({source}); left as it is. "
            f"Remove it yourself, or install under another name with --name"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(source, target, target_is_directory=True)
    return f"linked {target} -> {source}; `snakemake --profile {name}` now uses it"
