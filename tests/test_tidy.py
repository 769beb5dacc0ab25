"""House rules that can be checked mechanically: ruff-clean, no circular imports between layers."""

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the test extra")
def test_ruff_clean():
    proc = subprocess.run(["ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run(
        ["ruff", "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = path.parent
            for _ in range(node.level - 1):
                base = base.parent
            mod = ".".join(base.relative_to(ROOT).parts + ((node.module,) if node.module else ()))
            out.add(mod)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize(
    "package,forbidden",
    [
        ("theorems", ("kdtheory.models", "kdtheory.audit")),
        ("models", ("kdtheory.audit",)),
        ("formulas", ("kdtheory.models", "kdtheory.audit")),
        ("assumptions.py", ("kdtheory.theorems", "kdtheory.models", "kdtheory.audit")),
    ],
)
def test_data_flows_one_way(package, forbidden):
    """STYLE.md: a theorem never imports a model; a model never imports the audit."""
    target = ROOT / "kdtheory" / package
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    for f in files:
        bad = [m for m in _imports(f) if m.startswith(forbidden)]
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"
