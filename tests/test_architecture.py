"""The arrows that must never exist between the package's parts (../shared/DESIGN.md), read from
the source: every `import cg2real...`, at module level or inside a function, counts."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cg2real"

# part (a module or a sub-package of cg2real) -> parts of ours it must never import
FORBIDDEN = {
    "data": {"cyclegan", "compact", "translate", "metrics", "detector", "report"},
    "cyclegan": {"compact", "translate", "metrics", "detector", "report", "data"},
    "compact": {"translate", "metrics", "detector", "report"},
    "translate": {"detector", "report"},
    "metrics": {"detector", "report"},
    "detector": {"cyclegan", "compact", "translate", "metrics", "report"},
    "report": {"cyclegan", "compact", "detector", "translate", "data"},
    "launch": {"cyclegan", "compact", "detector"},
    "cluster": {"cyclegan", "compact", "detector"},
    "workflow": {"cyclegan", "compact", "translate", "metrics", "detector", "report", "data"},
    "scoring": {"cyclegan", "compact", "translate", "metrics", "detector", "report", "data"},  # shared by the last two
}
# leaves: nothing of ours but the error type every part raises
LEAVES = {"boxes", "images", "settings", "errors", "workflow", "parallel", "coco", "signals", "config_check"}
ALLOWED_IN_LEAVES = {"errors"}


def part_of(module: str) -> str:
    """'cg2real.cyclegan.train' -> 'cyclegan'; 'cg2real.images' -> 'images'."""
    return module.split(".")[1]


def our_imports(path: Path) -> set[str]:
    """Every cg2real module `path` imports (absolute imports, anywhere in the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("cg2real.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cg2real"):
            assert node.level == 0, f"{path}: relative import"
            if node.module == "cg2real":  # from cg2real import workflow
                found |= {f"cg2real.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
    return found


def modules() -> dict[str, Path]:
    """Every module of the package but the command line, which assembles all the parts."""
    found = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): p for p in PACKAGE.rglob("*.py")}
    return {name: path for name, path in sorted(found.items()) if name != "cg2real.__main__"}


def test_the_module_walk_sees_the_package():
    found = modules()
    assert {"cg2real.cyclegan.train", "cg2real.images", "cg2real.workflow", "cg2real.detector.score"} <= set(found)
    assert "cg2real.report.table2" in found and our_imports(found["cg2real.cyclegan.train"])


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_forbidden_arrow(module):
    path = modules()[module]
    part = part_of(module)
    imported = {part_of(name) for name in our_imports(path)} - {part}
    if part in LEAVES:
        assert imported <= ALLOWED_IN_LEAVES, f"{module} is a leaf but imports {sorted(imported)}"
    assert not imported & FORBIDDEN.get(part, set()), f"{module} imports {sorted(imported & FORBIDDEN[part])}"


def test_training_never_knows_its_downstream():
    imported = our_imports(PACKAGE / "cyclegan" / "train.py")
    assert not {name for name in imported if part_of(name) in {"translate", "compact", "metrics", "detector"}}


def test_what_the_workflow_imports_while_it_parses_needs_no_torch_and_no_snakemake():
    """rules/common.smk imports these at every `snakemake` call, dry runs included."""
    code = (
        "import sys, cg2real.config_check, cg2real.workflow, cg2real.cyclegan.run, cg2real.compact.paths\n"
        "import cg2real.cluster.resources\n"
        "heavy = {'torch', 'snakemake', 'cv2', 'matplotlib'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
