"""cg2real: CG-to-real image translation as training data for a person detector."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`cg2real.__version__`, read from the installed package's metadata (pyproject.toml's version,
    the one place it is written), and only when asked: every job imports cg2real."""
    if name != "__version__":
        raise AttributeError(f"module 'cg2real' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cg2real")
    except PackageNotFoundError:  # run from a source tree without `pip install -e .`
        return "unknown (not installed)"
